"""The shared benchmark plumbing: process-tree memory, server processes, ports, JSON."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks._common import MIB, BenchError, PeakRss, ServerProcess, free_port, tree_rss, write_json

# A child holding 64 MiB (every page touched), under a parent; both wait to be killed.
CHILD = (
    "import time; b = bytearray(64 * 2**20); b[::4096] = b'x' * (16 * 1024); "
    "print('ready', flush=True); time.sleep(60)"
)
TREE = f"""
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", {CHILD!r}], stdout=subprocess.PIPE)
child.stdout.readline()
print(child.pid, flush=True)
time.sleep(60)
"""


def test_tree_rss_counts_the_children() -> None:
    parent = subprocess.Popen([sys.executable, "-c", TREE], stdout=subprocess.PIPE)
    child = 0
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        with PeakRss(parent.pid, interval=0.01) as rss:
            time.sleep(0.05)
        # two interpreters (~10 MiB each at least) plus the child's 64 MiB, touched page by page
        assert rss.peak >= 64 * MIB + 2 * 5 * MIB
        assert rss.start <= rss.peak and tree_rss(parent.pid) >= 64 * MIB
        assert tree_rss(child) >= 64 * MIB > tree_rss(parent.pid) - tree_rss(child)
    finally:
        if child:
            os.kill(child, signal.SIGKILL)
        parent.kill()
        parent.wait()
    assert tree_rss(parent.pid) == 0  # gone


def test_server_that_dies_raises_with_its_output(tmp_path: Path) -> None:
    command = [sys.executable, "-c", "import sys; print('no config here'); sys.exit(3)"]
    server = ServerProcess(
        "broken", command, ready_url=f"http://127.0.0.1:{free_port()}/", log_path=tmp_path / "log"
    )
    with pytest.raises(BenchError, match="broken did not start") as caught, server:
        pass
    assert "no config here" in str(caught.value)


def test_server_is_stopped_on_exit(tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    with ServerProcess(
        "http.server", command, ready_url=f"http://127.0.0.1:{port}/", log_path=tmp_path / "log"
    ) as server:
        process = server.process
        assert process is not None and process.poll() is None
    assert process.poll() is not None
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_write_json_replaces_the_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    write_json(target, {"a": 1})
    write_json(target, {"b": [1.5, None]})
    assert json.loads(target.read_text()) == {"b": [1.5, None]}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
