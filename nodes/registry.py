"""The node catalogue: built-in node modules plus the user's custom node packs.

Built-in modules are the modules of this package that export
NODE_CLASS_MAPPINGS. Custom packs are the .py files and packages in the custom
node directories, loaded the way ComfyUI loads them (module name = file or
folder name) so that their relative and absolute imports keep working. A pack
that fails to import is recorded with its error and skipped; a pack cannot
replace a built-in node.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import pkgutil
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from graph.node_info import NodeCatalogue, describe_node

log = logging.getLogger("loom.nodes")

NOT_NODE_MODULES = {"registry", "compat"}
COMPAT_DIR = Path(__file__).resolve().parent / "compat"
REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class PackStatus:
    name: str
    path: str
    nodes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "path": self.path,
            "nodes": self.nodes,
            "seconds": round(self.seconds, 4),
            "error": self.error,
            "warnings": self.warnings,
        }


class NodeRegistry:
    """Collects node classes and describes them in ComfyUI's /object_info shape."""

    def __init__(self, custom_node_dirs=None, load_custom_nodes: bool = True):
        self.custom_node_dirs = [Path(d) for d in (custom_node_dirs or [])]
        self.load_custom_nodes = load_custom_nodes
        self.classes: dict[str, type] = {}
        self.display_names: dict[str, str] = {}
        self.modules: dict[str, str] = {}  # class_type -> python_module for object_info
        self.packs: list[PackStatus] = []
        self.web_directories: dict[str, Path] = {}

    # -- loading -------------------------------------------------------------

    def load(self) -> "NodeRegistry":
        import nodes

        for info in sorted(pkgutil.iter_modules(nodes.__path__), key=lambda m: m.name):
            if info.name in NOT_NODE_MODULES or info.name.startswith("_"):
                continue
            module = importlib.import_module(f"nodes.{info.name}")
            if hasattr(module, "NODE_CLASS_MAPPINGS"):
                self._add_mappings(module, "nodes", builtin=True, status=None)
        if self.load_custom_nodes:
            install_compat_modules()
            for directory in self.custom_node_dirs:
                self._load_custom_dir(directory)
        return self

    def _load_custom_dir(self, directory: Path) -> None:
        if not directory.is_dir():
            return
        for entry in sorted(directory.iterdir()):
            if entry.name.startswith((".", "_")) or entry.name.endswith(".disabled"):
                continue
            if entry.is_file() and entry.suffix == ".py":
                self._load_pack(entry.stem, entry, entry.parent)
            elif entry.is_dir() and (entry / "__init__.py").is_file():
                self._load_pack(entry.name, entry / "__init__.py", entry)

    def _load_pack(self, name: str, init_file: Path, pack_dir: Path) -> None:
        status = PackStatus(name=name, path=str(pack_dir if init_file.name == "__init__.py" else init_file))
        self.packs.append(status)
        started = time.perf_counter()
        try:
            is_package = init_file.name == "__init__.py"
            spec = importlib.util.spec_from_file_location(
                name,
                init_file,
                submodule_search_locations=[str(pack_dir)] if is_package else None,
            )
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            if not hasattr(module, "NODE_CLASS_MAPPINGS"):
                raise ImportError("the pack exports no NODE_CLASS_MAPPINGS")
            self._add_mappings(module, f"custom_nodes.{name}", builtin=False, status=status)
            web_dir = getattr(module, "WEB_DIRECTORY", None)
            if web_dir:
                web_path = (pack_dir / web_dir).resolve()
                if web_path.is_dir():
                    self.web_directories[name] = web_path
        except Exception as error:  # a broken pack must never stop the server
            sys.modules.pop(name, None)
            status.error = f"{type(error).__name__}: {error}"
            log.warning("custom node pack %s failed to load:\n%s", name, traceback.format_exc())
        status.seconds = time.perf_counter() - started

    def _add_mappings(self, module, python_module: str, builtin: bool, status: PackStatus | None):
        display = getattr(module, "NODE_DISPLAY_NAME_MAPPINGS", {}) or {}
        for class_type, cls in module.NODE_CLASS_MAPPINGS.items():
            if class_type in self.classes:
                owner = self.modules[class_type]
                message = f"node '{class_type}' is already defined by {owner}; this one is ignored"
                if status is not None:
                    status.warnings.append(message)
                else:
                    raise RuntimeError(f"built-in {message}")
                continue
            self.classes[class_type] = cls
            self.modules[class_type] = python_module
            if class_type in display:
                self.display_names[class_type] = display[class_type]
            if status is not None:
                status.nodes.append(class_type)

    # -- description -----------------------------------------------------------

    @property
    def failed_packs(self) -> list[dict]:
        return [{"name": p.name, "error": p.error} for p in self.packs if p.error]

    def status(self) -> dict:
        """Which custom packs loaded, which failed and why (GET /custom_nodes/status)."""
        return {
            "builtin_nodes": sum(1 for m in self.modules.values() if m == "nodes"),
            "packs": [p.to_json() for p in self.packs],
            "failed": self.failed_packs,
        }

    def object_info(self) -> dict:
        info = {}
        for class_type in self.classes:
            try:
                info[class_type] = self.object_info_for(class_type)
            except Exception:
                log.warning("INPUT_TYPES of %s failed:\n%s", class_type, traceback.format_exc())
        return info

    def catalogue(self) -> NodeCatalogue:
        """A fresh lazy {class_type: object_info entry} view (combo lists are read when asked)."""
        return NodeCatalogue(self.classes, self.display_names, self.modules)

    def object_info_for(self, class_type: str) -> dict:
        return describe_node(
            class_type,
            self.classes[class_type],
            self.display_names.get(class_type),
            self.modules.get(class_type, "nodes"),
        )


def install_compat_modules() -> None:
    """Make `folder_paths`, `comfy.*` and `server` importable for ComfyUI packs."""
    for path in (str(COMPAT_DIR), str(REPO_ROOT)):
        if path not in sys.path:
            sys.path.append(path)
