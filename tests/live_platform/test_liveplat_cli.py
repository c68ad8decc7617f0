"""The RTMP ingest in the command line: inside ``socialflow serve`` on the embedded default, and
``socialflow rtmp`` refusing to run without a broker to hand recordings to."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


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


def test_serve_listens_for_rtmp_on_the_configured_port(tmp_path: Path) -> None:
    http_port, rtmp_port = free_port(), free_port()
    proc = cli(tmp_path, "serve", "--port", str(http_port), SOCIALFLOW_RTMP_PORT=str(rtmp_port))
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            try:
                if httpx.get(f"http://127.0.0.1:{http_port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve did not start"
            time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", rtmp_port), timeout=5) as sock:
            sock.sendall(b"\x03" + bytes(1536))  # RTMP C0+C1: the server answers with S0+S1+S2
            sock.settimeout(5)
            assert sock.recv(1) == b"\x03"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            if proc.stderr is not None:
                proc.stderr.close()
    assert proc.returncode == 0


def test_rtmp_command_needs_a_broker(tmp_path: Path) -> None:
    proc = cli(tmp_path, "rtmp", "--port", str(free_port()))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert b"SOCIALFLOW_BROKER_URL" in err and b"socialflow serve" in err
