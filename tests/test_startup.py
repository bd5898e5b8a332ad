"""Start-up stays light: flags, folders, devices and the node catalogue load without torch."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_startup_does_not_import_torch(tmp_path):
    code = (
        "import sys, server;"
        "from cli import flags, startup;"
        f"args = flags.parse(['--base-directory', {str(tmp_path)!r}, '--cpu']);"
        "registry = startup.configure(args);"
        "assert 'KSampler' in registry.classes and 'CheckpointLoaderSimple' in registry.classes;"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
    assert (tmp_path / "output").is_dir() and (tmp_path / "input").is_dir()


def test_flags_parse_serve_and_run():
    from cli import flags

    serve = flags.parse(["--listen", "0.0.0.0", "--port", "9000", "--enable-cors-header"])
    assert (serve.command, serve.listen, serve.port, serve.enable_cors_header) == ("serve", "0.0.0.0", 9000, "*")
    run = flags.parse(["run", "wf.json", "--set", "3.seed=1", "--set", "3.steps=2", "--cpu"])
    assert (run.command, run.workflow, run.overrides, run.cpu) == ("run", "wf.json", ["3.seed=1", "3.steps=2"], True)
