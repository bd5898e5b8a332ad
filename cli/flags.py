"""The command-line flags, named as ComfyUI names them where ComfyUI has them."""

from __future__ import annotations

import argparse


def add_common_flags(parser: argparse.ArgumentParser) -> None:
    """Directories, devices and caching: shared by `serve` and `run`."""
    paths = parser.add_argument_group("directories")
    paths.add_argument("--base-directory", default=None, help="root for models/, input/, output/, temp/, user/")
    paths.add_argument("--output-directory", default=None)
    paths.add_argument("--input-directory", default=None)
    paths.add_argument("--temp-directory", default=None)
    paths.add_argument("--user-directory", default=None)
    paths.add_argument(
        "--extra-model-paths-config",
        action="append",
        default=[],
        metavar="YAML",
        help="extra_model_paths.yaml to point at existing ComfyUI/A1111 model folders (repeatable)",
    )
    paths.add_argument("--custom-nodes-directory", default=None, help="default: ./custom_nodes")
    paths.add_argument("--disable-custom-nodes", action="store_true")
    paths.add_argument("--disable-metadata", action="store_true",
                       help="save files without the prompt and workflow embedded")

    device = parser.add_argument_group("device")
    device.add_argument("--cpu", action="store_true", help="run everything on the CPU")
    device.add_argument("--lowvram", action="store_true", help="offload model parts to the CPU between uses")
    device.add_argument("--novram", action="store_true")
    device.add_argument("--force-fp32", action="store_true")
    device.add_argument("--force-fp16", action="store_true")
    device.add_argument("--bf16", action="store_true", help="use bfloat16 (also on CPU)")
    device.add_argument(
        "--allow-pickle",
        action="store_true",
        help="allow .ckpt/.pt pickle files (loaded with weights_only=True)",
    )

    cache = parser.add_argument_group("cache")
    cache.add_argument("--cache", choices=("lru", "last", "none"), default="lru")
    cache.add_argument("--cache-lru", type=int, default=64, metavar="N", help="max cached node outputs")
    cache.add_argument("--cache-ram", type=float, default=8.0, metavar="GB", help="max RAM for cached outputs")
    parser.add_argument("--verbose", action="store_true")


def add_server_flags(parser: argparse.ArgumentParser) -> None:
    server = parser.add_argument_group("server")
    server.add_argument("--listen", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    server.add_argument("--port", type=int, default=8188)
    server.add_argument(
        "--enable-cors-header",
        nargs="?",
        const="*",
        default=None,
        metavar="ORIGIN",
        help="allow cross-origin requests from ORIGIN (default when given without value: *)",
    )
    server.add_argument("--auth-token", default=None, help="token required when listening beyond loopback")
    server.add_argument("--insecure", action="store_true", help="listen beyond loopback without a token")
    server.add_argument("--max-upload-size", type=float, default=100, metavar="MB")
    server.add_argument("--preview-method", choices=("none", "auto", "latent2rgb", "taesd"), default="none",
                        help="live previews while sampling (default none, as ComfyUI; a client may ask "
                             "for them per prompt with extra_data.preview_method); taesd falls back to "
                             "latent2rgb, Loom has no TAESD decoder yet")
    server.add_argument("--front-end-root", default=None, metavar="PATH",
                        help="serve a ComfyUI-compatible web frontend from PATH instead of Loom's editor")
    server.add_argument("--front-end", choices=("loom", "comfyui"), default="loom",
                        help="comfyui: serve ComfyUI's own frontend from the installed comfyui-frontend-package")


def add_run_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("workflow", help="workflow file: UI or API JSON, or a PNG/WebP/FLAC with one embedded")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="NODE.input=VALUE",
        help="override one input; NODE is a node id or title (VALUE is parsed as JSON when it can be)",
    )
    parser.add_argument(
        "--seed",
        choices=["random", "randomize", "increment", "decrement", "fixed", "auto"],
        help="apply control_after_generate to the seed widgets before the run "
             "(auto: each widget's own setting, UI workflows only)",
    )
    parser.add_argument("--no-progress", action="store_true", help="do not draw progress bars")


def parse(argv: list[str]) -> argparse.Namespace:
    """`server.py [flags]` serves; `server.py run WORKFLOW.json [flags]` runs headless."""
    if argv and argv[0] == "run":
        parser = argparse.ArgumentParser(prog="server.py run", description="Run a saved workflow headless.")
        add_run_flags(parser)
        add_common_flags(parser)
        args = parser.parse_args(argv[1:])
        args.command = "run"
    else:
        parser = argparse.ArgumentParser(prog="server.py", description="Loom server.")
        add_server_flags(parser)
        add_common_flags(parser)
        args = parser.parse_args(argv)
        args.command = "serve"
    return args
