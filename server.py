"""Loom's entry point.

    python server.py [flags]                 serve the editor and the API (127.0.0.1:8188)
    python server.py run WORKFLOW.json ...   run a saved workflow headless

ComfyUI custom packs do `from server import PromptServer`; that name is
re-exported here so they load unchanged.
"""

from __future__ import annotations

import sys

from api.prompt_server import PromptServer  # noqa: F401  (re-exported for custom packs)


def main(argv: list[str] | None = None) -> int:
    from cli import flags

    args = flags.parse(sys.argv[1:] if argv is None else argv)
    if args.command == "run":
        from cli import run

        return run.main(args)
    from api import app

    app.run_server(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
