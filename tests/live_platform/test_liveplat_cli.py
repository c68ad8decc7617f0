"""Starting the ingest: ``socialflow rtmp`` refuses to run without a broker to hand recordings to,
and a taken port is one line for the operator. (``socialflow serve`` with its RTMP ingest is run
end to end by test_liveplat_bench.py.)"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from support.platform import Platform

from control_plane.live import RtmpThread, build_ingest
from control_plane.settings import ConfigError


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli(tmp_path: Path, *args: str, **env: str) -> subprocess.Popen[bytes]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALFLOW_")}
    environ.update({"SOCIALFLOW_DATA_DIR": str(tmp_path / "data"), **env})
    return subprocess.Popen(
        [sys.executable, "-m", "control_plane.cli", *args],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_rtmp_command_needs_a_broker(tmp_path: Path) -> None:
    proc = cli(tmp_path, "rtmp", "--port", str(free_port()))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert b"SOCIALFLOW_BROKER_URL" in err and b"socialflow serve" in err


def test_a_taken_rtmp_port_is_one_line_for_the_operator(platform: Platform) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"cannot listen for RTMP on 127.0.0.1:{port}"):
            RtmpThread("127.0.0.1", port, build_ingest(platform.services)).start()
