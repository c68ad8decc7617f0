"""`socialflow demo` as a user runs it: every step of the end-to-end tour passes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALFLOW_")}
    result = subprocess.run(
        [str(Path(sys.executable).with_name("socialflow")), "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith("  ")]
    steps = [line.split(":", 1)[0].split(None, 1)[1].strip() for line in lines]
    assert steps == [
        "sign up",
        "resumable upload",
        "transcode",
        "play back",
        "Content-ID",
        "background job round trip",
    ]
    assert all(line.strip().startswith("ok") for line in lines), result.stdout
    assert "500 frames of 640x360" in result.stdout and "re-upload blocked" in result.stdout
    assert not (tmp_path / ".socialflow").exists()  # the demo keeps its data in a temporary folder
