"""Read ComfyUI's extra_model_paths.yaml and add its folders to engine.folders.

Format (as in ComfyUI): top-level sections, each with an optional `base_path`
(relative paths in it are taken from the YAML file's directory), an optional
`is_default: true` (its folders are searched first), and folder keys
(`checkpoints`, `vae`, `loras`, `clip`, ...) whose value is one path, several
paths one per line (YAML `|` block), or a list. Paths relative to base_path are
joined to it; `~` and environment variables are expanded.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ModelError

SECTION_OPTIONS = ("base_path", "is_default")


@dataclass(frozen=True)
class ExtraPath:
    folder: str
    path: Path
    first: bool


def parse(yaml_path) -> list[ExtraPath]:
    import yaml

    yaml_path = Path(yaml_path)
    try:
        data = yaml.safe_load(yaml_path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ModelError(f"{yaml_path}: cannot read extra model paths ({error})") from error
    except yaml.YAMLError as error:
        raise ModelError(f"{yaml_path}: not valid YAML ({error})") from error
    if data is None:
        return []
    if not isinstance(data, dict):
        raise ModelError(f"{yaml_path}: expected sections of folder paths at the top level")
    found = []
    for section_name, section in data.items():
        if section is None:
            continue
        if not isinstance(section, dict):
            raise ModelError(f"{yaml_path}: section '{section_name}' must map folder names to paths")
        base = _expand(section.get("base_path") or "")
        base = base if base.is_absolute() else yaml_path.parent / base
        first = bool(section.get("is_default", False))
        for folder, value in section.items():
            if folder in SECTION_OPTIONS or value is None:
                continue
            for entry in _entries(value, yaml_path, section_name, folder):
                path = _expand(entry)
                found.append(ExtraPath(str(folder), path if path.is_absolute() else base / path, first))
    return found


def apply(yaml_path, folders=None) -> list[ExtraPath]:
    """Add every path of the file to the folder set (engine.folders.get() by default)."""
    if folders is None:
        from engine import folders as folders_module

        folders = folders_module.get()
    entries = parse(yaml_path)
    for entry in entries:
        folders.add_dir(entry.folder, entry.path, first=entry.first)
    return entries


def _entries(value, yaml_path: Path, section: str, folder: str) -> list[str]:
    if isinstance(value, str):
        return [line.strip() for line in value.splitlines() if line.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise ModelError(f"{yaml_path}: {section}.{folder} must be a path, lines of paths or a list of paths")


def _expand(text) -> Path:
    return Path(os.path.expandvars(os.path.expanduser(str(text).strip())))
