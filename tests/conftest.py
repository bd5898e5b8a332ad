"""Shared test set-up: offline hubs, and folders pointed at a temporary tree."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


import pytest  # noqa: E402


@pytest.fixture(scope="module")
def cpu_fp32():
    """Run Loom on the CPU in float32 (as the diffusers references do), whatever the machine."""
    from engine import devices

    previous = devices._settings
    devices.configure(cpu=True)
    yield
    devices._settings = previous


@pytest.fixture
def tmp_folders(tmp_path):
    """engine.folders pointed at tmp_path (models/, input/, output/, temp/), restored afterwards."""
    from engine import folders

    previous = folders._folders
    yield folders.configure(
        base_dir=tmp_path, output_dir=tmp_path / "output", input_dir=tmp_path / "input", temp_dir=tmp_path / "temp"
    )
    folders._folders = previous
