"""Where Loom finds the user's model files and where it reads and writes images.

Torch-free on purpose: node schemas call it to fill their file combos, and the
server imports it at start-up. The folder set is made once at start by
`configure(...)`; `get()` builds the defaults lazily when nobody configured it
(tests, scripts).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

REPO_ROOT = Path(__file__).resolve().parent.parent

MODEL_EXTENSIONS = frozenset(
    {".safetensors", ".sft", ".ckpt", ".pt", ".pt2", ".pth", ".bin", ".pkl"}
)

# folder name -> file extensions listed in it (the model folders of ComfyUI,
# plus depth/ and captioning/ for the analysis nodes).
FOLDER_EXTENSIONS: dict[str, frozenset[str]] = {
    "checkpoints": MODEL_EXTENSIONS,
    "configs": frozenset({".yaml", ".json"}),
    "loras": MODEL_EXTENSIONS,
    "vae": MODEL_EXTENSIONS,
    "text_encoders": MODEL_EXTENSIONS,
    "diffusion_models": MODEL_EXTENSIONS,
    "clip_vision": MODEL_EXTENSIONS,
    "style_models": MODEL_EXTENSIONS,
    "embeddings": MODEL_EXTENSIONS,
    "diffusers": frozenset(),
    "vae_approx": MODEL_EXTENSIONS,
    "controlnet": MODEL_EXTENSIONS,
    "gligen": MODEL_EXTENSIONS,
    "upscale_models": MODEL_EXTENSIONS,
    "hypernetworks": MODEL_EXTENSIONS,
    "photomaker": MODEL_EXTENSIONS,
    "classifiers": frozenset({""}),
    "depth": MODEL_EXTENSIONS,
    "captioning": MODEL_EXTENSIONS,
}

# Old ComfyUI names that workflows and custom packs still use.
FOLDER_ALIASES = {
    "clip": "text_encoders",
    "unet": "diffusion_models",
    "t2i_adapter": "controlnet",
}

# A directory holding one of these files is a model in diffusers format and is
# listed as one entry, like a single file.
DIFFUSERS_MARKERS = ("model_index.json", "config.json")


def canonical_folder(name: str) -> str:
    return FOLDER_ALIASES.get(name, name)


def safe_relative_name(name: str) -> PurePosixPath | None:
    """The name as a relative path inside a folder, or None when it could escape it.

    Windows separators from shared workflows are accepted; absolute paths, drive
    letters, '..' parts and NUL bytes are not.
    """
    if not isinstance(name, str) or not name or "\x00" in name:
        return None
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ":" in path.parts[0] or ".." in path.parts:
        return None
    return path


@dataclass
class Folders:
    """The model folders and the input/output/temp/user directories."""

    base_dir: Path
    output_dir: Path
    input_dir: Path
    temp_dir: Path
    user_dir: Path
    model_dirs: dict[str, list[Path]] = field(default_factory=dict)
    extensions: dict[str, frozenset[str]] = field(default_factory=lambda: dict(FOLDER_EXTENSIONS))

    @classmethod
    def default(cls, base_dir: Path | str | None = None, **dirs) -> "Folders":
        # absolute from the start: a relative --base-directory must not make later
        # relative_to() calls mix relative and absolute paths
        base = Path(base_dir).absolute() if base_dir else REPO_ROOT
        folders = cls(
            base_dir=base,
            output_dir=Path(dirs.get("output_dir") or base / "output").absolute(),
            input_dir=Path(dirs.get("input_dir") or base / "input").absolute(),
            temp_dir=Path(dirs.get("temp_dir") or base / "temp").absolute(),
            user_dir=Path(dirs.get("user_dir") or base / "user").absolute(),
        )
        models = Path(dirs.get("models_dir") or base / "models").absolute()
        for name in FOLDER_EXTENSIONS:
            folders.model_dirs[name] = [models / name]
        return folders

    def folder_names(self) -> list[str]:
        return list(self.model_dirs)

    def dirs(self, folder: str) -> list[Path]:
        return list(self.model_dirs.get(canonical_folder(folder), []))

    def add_dir(self, folder: str, path: Path | str, first: bool = False, extensions=None) -> None:
        """Add a directory to a model folder (extra_model_paths.yaml, custom packs)."""
        folder = canonical_folder(folder)
        if extensions is not None:
            self.extensions[folder] = frozenset(extensions)
        dirs = self.model_dirs.setdefault(folder, [])
        path = Path(path)
        if path in dirs:
            return
        if first:
            dirs.insert(0, path)
        else:
            dirs.append(path)

    def list_files(self, folder: str) -> list[str]:
        """Every model in the folder, recursively, as sorted relative posix names."""
        folder = canonical_folder(folder)
        extensions = self.extensions.get(folder, MODEL_EXTENSIONS)
        names: set[str] = set()
        for root in self.dirs(folder):
            if root.is_dir():
                names.update(_walk_models(root, extensions))
        return sorted(names)

    def full_path(self, folder: str, name: str) -> Path | None:
        """The file (or diffusers folder) `name` in a model folder, or None."""
        relative = safe_relative_name(name)
        if relative is None:
            return None
        for root in self.dirs(folder):
            candidate = root / relative
            if candidate.is_file() or _is_diffusers_dir(candidate):
                return candidate
        return None

    def ensure_io_dirs(self) -> None:
        for path in (self.output_dir, self.input_dir, self.temp_dir, self.user_dir):
            path.mkdir(parents=True, exist_ok=True)


def _is_diffusers_dir(path: Path) -> bool:
    return path.is_dir() and any((path / marker).is_file() for marker in DIFFUSERS_MARKERS)


def _walk_models(root: Path, extensions: frozenset[str]):
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        here = Path(dirpath)
        if here != root and _is_diffusers_dir(here):
            yield here.relative_to(root).as_posix()
            dirnames.clear()  # the parts of a diffusers model are not models themselves
            continue
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for filename in filenames:
            if filename.startswith("."):
                continue
            suffix = Path(filename).suffix.lower()
            if suffix in extensions or "" in extensions:
                yield (here / filename).relative_to(root).as_posix()


_folders: Folders | None = None


def configure(
    base_dir=None,
    output_dir=None,
    input_dir=None,
    temp_dir=None,
    user_dir=None,
    models_dir=None,
) -> Folders:
    """Set the folders for this process (called once by server.py, or by tests)."""
    global _folders
    _folders = Folders.default(
        base_dir,
        output_dir=output_dir,
        input_dir=input_dir,
        temp_dir=temp_dir,
        user_dir=user_dir,
        models_dir=models_dir,
    )
    return _folders


def get() -> Folders:
    """The configured folders; the repository defaults when nothing was configured."""
    global _folders
    if _folders is None:
        _folders = Folders.default()
    return _folders
