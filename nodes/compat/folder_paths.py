"""ComfyUI's `folder_paths` module, answered by engine.folders."""

from __future__ import annotations

import os
from collections.abc import MutableMapping

from engine import folders as _folders
from engine.folders import MODEL_EXTENSIONS

supported_pt_extensions = set(MODEL_EXTENSIONS)


def _get():
    return _folders.get()


def get_output_directory() -> str:
    return str(_get().output_dir)


def get_input_directory() -> str:
    return str(_get().input_dir)


def get_temp_directory() -> str:
    return str(_get().temp_dir)


def get_user_directory() -> str:
    return str(_get().user_dir)


def get_directory_by_type(type_name: str) -> str | None:
    return {
        "output": get_output_directory,
        "input": get_input_directory,
        "temp": get_temp_directory,
    }.get(type_name, lambda: None)()


def get_folder_paths(folder_name: str) -> list[str]:
    return [str(p) for p in _get().dirs(folder_name)]


def get_filename_list(folder_name: str) -> list[str]:
    return _get().list_files(folder_name)


def get_full_path(folder_name: str, filename: str) -> str | None:
    path = _get().full_path(folder_name, filename)
    return str(path) if path else None


def get_full_path_or_raise(folder_name: str, filename: str) -> str:
    path = get_full_path(folder_name, filename)
    if path is None:
        raise FileNotFoundError(f"Model in folder '{folder_name}' with filename '{filename}' not found.")
    return path


def add_model_folder_path(folder_name: str, full_folder_path: str, is_default: bool = False) -> None:
    _get().add_dir(folder_name, full_folder_path, first=is_default)


def annotated_filepath(name: str) -> tuple[str, str | None]:
    """Split 'image.png [output]' into the name and its directory."""
    for suffix, directory in (
        (" [output]", get_output_directory),
        (" [input]", get_input_directory),
        (" [temp]", get_temp_directory),
    ):
        if name.endswith(suffix):
            return name[: -len(suffix)], directory()
    return name, None


def get_annotated_filepath(name: str, default_dir: str | None = None) -> str:
    name, base_dir = annotated_filepath(name)
    if base_dir is None:
        base_dir = default_dir or get_input_directory()
    return os.path.join(base_dir, name)


def exists_annotated_filepath(name: str) -> bool:
    return os.path.exists(get_annotated_filepath(name))


def get_save_image_path(filename_prefix: str, output_dir: str, image_width: int = 0, image_height: int = 0):
    """(full_output_folder, filename, counter, subfolder, filename_prefix) as ComfyUI returns."""
    from engine.images import save_location

    folder, filename, counter, subfolder = save_location(filename_prefix, output_dir, image_width, image_height)
    return str(folder), filename, counter, subfolder, filename_prefix


class _FolderTable(MutableMapping):
    """`folder_names_and_paths` as a live view: {name: ([paths], {extensions})}."""

    def __getitem__(self, name):
        folders = _get()
        if name not in folders.model_dirs:
            raise KeyError(name)
        return [str(p) for p in folders.dirs(name)], set(folders.extensions.get(name, ()))

    def __setitem__(self, name, value):
        paths, extensions = value
        folders = _get()
        folders.model_dirs[name] = []
        for path in paths:
            folders.add_dir(name, path)
        folders.extensions[name] = frozenset(extensions)

    def __delitem__(self, name):
        del _get().model_dirs[name]

    def __iter__(self):
        return iter(list(_get().model_dirs))

    def __len__(self):
        return len(_get().model_dirs)


folder_names_and_paths = _FolderTable()


def __getattr__(name):
    if name == "models_dir":
        return str(_get().base_dir / "models")
    if name == "base_path":
        return str(_get().base_dir)
    if name in ("output_directory", "input_directory", "temp_directory", "user_directory"):
        return globals()[f"get_{name}"]()
    raise AttributeError(name)
