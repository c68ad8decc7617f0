"""The two tus servers the upload benchmark drives: ``socialflow serve`` and the Node tus server.

Each runs as a subprocess on loopback with its data under a folder the caller gives, and is
stopped when the ``with`` ends. The Node server is ``@tus/server`` with ``@tus/file-store``,
installed with npm into a cache folder and run from a small script written there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks._common import BenchError, ServerProcess, free_port

__all__ = ["OURS", "PEER", "ServerSpec", "ensure_node_server", "start_server"]

OURS = "socialflow"
PEER = "tus-node"
HOST = "127.0.0.1"
NODE_PACKAGES = ("@tus/server@2", "@tus/file-store@2")
NODE_SCRIPT = """\
import http from "node:http";
import { Server } from "@tus/server";
import { FileStore } from "@tus/file-store";

const [host, port, directory] = process.argv.slice(2);
const tus = new Server({ path: "/files", datastore: new FileStore({ directory }) });
http.createServer((req, res) => tus.handle(req, res)).listen(Number(port), host, () => {
  console.log(`tus-node listening on http://${host}:${port}/files`);
});
"""
ACCOUNT = {"username": "bench", "email": "bench@example.com", "password": "a long benchmark passphrase"}


@dataclass(frozen=True)
class ServerSpec:
    """How a client reaches a running server: its tus endpoint, auth headers and process id."""

    name: str
    upload_url: str
    pid: int
    headers: dict[str, str] = field(default_factory=dict)

    def stored_offset(self, upload_url: str) -> int:
        """The server's own Upload-Offset for an upload (a tus HEAD request), bytes."""
        request = urllib.request.Request(
            upload_url, method="HEAD", headers={"Tus-Resumable": "1.0.0", **self.headers}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.headers["Upload-Offset"])


def ensure_node_server(node_dir: Path) -> dict[str, str]:
    """Install the Node tus server into ``node_dir`` if needed and write its script there.

    Returns the versions used (node, @tus/server, @tus/file-store). ``BenchError`` with npm's own
    words when node or npm is missing or the install fails.
    """
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise BenchError("node and npm must be on PATH to run the Node tus server (or pass --no-peer)")
    node_dir.mkdir(parents=True, exist_ok=True)
    modules = node_dir / "node_modules" / "@tus"
    if not (
        (modules / "server" / "package.json").exists() and (modules / "file-store" / "package.json").exists()
    ):
        done = subprocess.run(
            [npm, "install", "--prefix", str(node_dir), "--no-audit", "--no-fund", *NODE_PACKAGES],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            raise BenchError(f"npm install {' '.join(NODE_PACKAGES)} failed:\n{done.stderr.strip()[-2000:]}")
    (node_dir / "tus_server.mjs").write_text(NODE_SCRIPT)
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    versions = {"node": version}
    for package in ("server", "file-store"):
        versions[f"@tus/{package}"] = json.loads((modules / package / "package.json").read_text())["version"]
    return versions


def _post_json(url: str, body: dict[str, str]) -> dict[str, object]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, object] = json.loads(response.read())
        return answer


@contextmanager
def _ours(data_dir: Path, *, uploads: int, upload_size: int) -> Iterator[ServerSpec]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALFLOW_")}
    env |= {
        "SOCIALFLOW_DATA_DIR": str(data_dir / "data"),
        "SOCIALFLOW_HOST": HOST,
        "SOCIALFLOW_HTTP_PORT": str(port),
        "SOCIALFLOW_RTMP_PORT": str(free_port()),
        "SOCIALFLOW_UPLOAD_SWEEP_INTERVAL": "3600",
        "SOCIALFLOW_ACCESS_TOKEN_TTL": "86400",
        # the defaults (8 open uploads, 20 GiB each) must not refuse a larger benchmark
        "SOCIALFLOW_UPLOAD_MAX_CONCURRENT": str(max(8, uploads)),
        "SOCIALFLOW_UPLOAD_MAX_BYTES": str(max(20 * 1024**3, upload_size)),
        "SOCIALFLOW_UPLOAD_QUOTA_BYTES": str(max(200 * 1024**3, 2 * uploads * upload_size)),
    }
    base = f"http://{HOST}:{port}"
    with ServerProcess(
        OURS,
        [sys.executable, "-m", "workers.cli", "serve"],
        ready_url=f"{base}/healthz",
        log_path=data_dir / "server.log",
        env=env,
        cwd=data_dir,
    ) as server:
        _post_json(f"{base}/api/v1/auth/register", ACCOUNT)
        login = _post_json(f"{base}/api/v1/auth/login", {k: ACCOUNT[k] for k in ("username", "password")})
        headers = {"Authorization": f"Bearer {login['access_token']}"}
        yield ServerSpec(OURS, f"{base}/api/v1/uploads/", server.pid, headers)


@contextmanager
def _node(data_dir: Path, node_dir: Path) -> Iterator[ServerSpec]:
    port = free_port()
    files = data_dir / "files"
    files.mkdir()
    base = f"http://{HOST}:{port}/files"
    with ServerProcess(
        PEER,
        ["node", str(node_dir / "tus_server.mjs"), HOST, str(port), str(files)],
        ready_url=f"{base}/",
        log_path=data_dir / "server.log",
        cwd=node_dir,
    ) as server:
        yield ServerSpec(PEER, f"{base}/", server.pid)


@contextmanager
def start_server(
    server: str, data_dir: Path, node_dir: Path, *, uploads: int = 1, upload_size: int = 0
) -> Iterator[ServerSpec]:
    """Start ``server`` (``OURS`` or ``PEER``) with data under ``data_dir``; stop it on exit.

    Our server's upload limits are raised to admit ``uploads`` open uploads of ``upload_size``
    bytes each. For ours the spec carries a signed-in user's Bearer header.
    """
    data_dir.mkdir(parents=True)
    if server == OURS:
        with _ours(data_dir, uploads=uploads, upload_size=upload_size) as spec:
            yield spec
    elif server == PEER:
        with _node(data_dir, node_dir) as spec:
            yield spec
    else:
        raise BenchError(f"unknown server {server!r} (use {OURS!r} or {PEER!r})")
