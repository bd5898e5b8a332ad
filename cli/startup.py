"""What both the server and the headless runner do at start: folders, devices, nodes."""

from __future__ import annotations

import logging
from pathlib import Path

from engine import folders

REPO_ROOT = Path(__file__).resolve().parent.parent


def configure(args) -> "nodes.registry.NodeRegistry":  # noqa: F821
    """Apply the directory and device flags, then load the node catalogue."""
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    configured = folders.configure(
        base_dir=getattr(args, "base_directory", None),
        output_dir=getattr(args, "output_directory", None),
        input_dir=getattr(args, "input_directory", None),
        temp_dir=getattr(args, "temp_directory", None),
        user_dir=getattr(args, "user_directory", None),
    )
    configured.ensure_io_dirs()
    for yaml_path in getattr(args, "extra_model_paths_config", None) or []:
        from engine import extra_model_paths

        extra_model_paths.apply(yaml_path, configured)
    configure_devices(args)

    from nodes.registry import NodeRegistry

    custom_dir = getattr(args, "custom_nodes_directory", None) or REPO_ROOT / "custom_nodes"
    return NodeRegistry(
        [custom_dir], load_custom_nodes=not getattr(args, "disable_custom_nodes", False)
    ).load()


def configure_devices(args) -> None:
    """Hand the device flags to engine.devices; nothing is picked until a node needs it."""
    from engine import devices

    devices.configure(
        cpu=getattr(args, "cpu", False),
        lowvram=getattr(args, "lowvram", False),
        novram=getattr(args, "novram", False),
        force_fp32=getattr(args, "force_fp32", False),
        force_fp16=getattr(args, "force_fp16", False),
        bf16=getattr(args, "bf16", False),
        allow_pickle=getattr(args, "allow_pickle", False),
    )
