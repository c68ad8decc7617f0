"""A real TURN server (coturn's ``turnserver``) on loopback, in time-limited credential mode."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.services import service_missing

SECRET = "turn-test-secret-0123456789"


@dataclass(frozen=True)
class Turn:
    port: int
    secret: str
    log: Path

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    def relayed_bytes(self) -> int:
        """Bytes the server relayed to peers in the sessions it has logged as closed."""
        total = 0
        for line in self.log.read_text(errors="replace").splitlines():
            if "usage:" in line and "sb=" in line:
                total += int(line.split("sb=")[1].split(",")[0].split()[0])
        return total


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def turn_server(tmp_path: Path) -> Iterator[Turn]:
    binary = shutil.which("turnserver")
    if binary is None:
        service_missing("coturn's turnserver (apt-get install coturn)")
        raise AssertionError("unreachable")
    port = _free_udp_port()
    log = tmp_path / "turn.log"
    relay_lo = 40000 + port % 20000
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                binary,
                "-n",
                "--listening-ip=127.0.0.1",
                f"--listening-port={port}",
                "--relay-ip=127.0.0.1",
                f"--min-port={relay_lo}",
                f"--max-port={relay_lo + 200}",
                "--use-auth-secret",
                f"--static-auth-secret={SECRET}",
                "--realm=socialflow.test",
                "--allow-loopback-peers",
                "--no-tls",
                "--no-dtls",
                "--no-cli",
                "--no-tcp-relay",
                "--log-file=stdout",
                "--simple-log",
                "--verbose",
                f"--pidfile={tmp_path / 'turn.pid'}",
                f"--userdb={tmp_path / 'turn.db'}",
            ],  # fmt: skip
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 10
        while "listener opened on" not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"turnserver did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.05)
        yield Turn(port, SECRET, log)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
