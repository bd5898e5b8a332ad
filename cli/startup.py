"""Start-up shared by the server (api.app) and the headless runner (cli.run):
folders, devices and the node catalogue. Nothing here imports torch."""

from __future__ import annotations

import logging
from pathlib import Path

from engine import folders

REPO_ROOT = Path(__file__).resolve().parent.parent


def flag(args, name: str, default=None):
    """args.name, or default when the flag is missing or None (tests pass small Namespaces)."""
    value = getattr(args, name, None)
    return default if value is None else value


def configure_logging(args) -> None:
    logging.basicConfig(
        level=logging.DEBUG if flag(args, "verbose", False) else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )


def configure_folders(args) -> folders.Folders:
    """Apply the directory flags and extra_model_paths.yaml files."""
    configured = folders.configure(
        base_dir=flag(args, "base_directory"),
        output_dir=flag(args, "output_directory"),
        input_dir=flag(args, "input_directory"),
        temp_dir=flag(args, "temp_directory"),
        user_dir=flag(args, "user_directory"),
    )
    configured.ensure_io_dirs()
    for yaml_path in flag(args, "extra_model_paths_config", []):
        from engine import extra_model_paths

        extra_model_paths.apply(yaml_path, configured)
    return configured


def configure_devices(args) -> None:
    """Hand the device flags to engine.devices; nothing is picked until a node needs it."""
    from engine import devices

    devices.configure(
        cpu=flag(args, "cpu", False),
        lowvram=flag(args, "lowvram", False),
        novram=flag(args, "novram", False),
        force_fp32=flag(args, "force_fp32", False),
        force_fp16=flag(args, "force_fp16", False),
        bf16=flag(args, "bf16", False),
        allow_pickle=flag(args, "allow_pickle", False),
    )


def configure_saving(args) -> None:
    """--disable-metadata: the save nodes embed no prompt or workflow."""
    from engine import save_options

    save_options.configure(disable_metadata=flag(args, "disable_metadata", False))


def load_registry(args):
    """The built-in nodes plus the custom packs (unless --disable-custom-nodes)."""
    from nodes.registry import NodeRegistry

    custom_dir = Path(flag(args, "custom_nodes_directory", REPO_ROOT / "custom_nodes"))
    return NodeRegistry([custom_dir], load_custom_nodes=not flag(args, "disable_custom_nodes", False)).load()


def configure(args):
    """Everything the runner needs before it loads a workflow; returns the registry."""
    configure_logging(args)
    configure_folders(args)
    configure_devices(args)
    configure_saving(args)
    return load_registry(args)
