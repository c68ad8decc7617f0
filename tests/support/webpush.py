"""A real Web Push service on loopback: npm's ``web-push-testing``, which checks each push's VAPID
signature, decrypts its ``aes128gcm`` payload and keeps it, so a test reads what a browser would.

The npm package is pinned in ``tests/support/node`` (``package.json`` and ``package-lock.json``);
the fixture runs ``npm ci`` there when ``node_modules`` is missing (a clean clone). Without node
and npm the tests skip locally and fail in CI.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.locks import held
from support.services import service_missing

NODE_DIR = Path(__file__).resolve().parent / "node"


def ensure_node_packages() -> str:
    """node, with the pinned packages installed in ``tests/support/node`` (``npm ci`` once)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        service_missing("node and npm (for the web-push-testing push service)")
    assert node and npm
    with held("node-webpush"):
        if not (NODE_DIR / "node_modules" / "web-push-testing" / "package.json").exists():
            done = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=NODE_DIR,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert done.returncode == 0, f"npm ci failed:\n{done.stderr[-2000:]}"
    return node


@dataclass(frozen=True)
class PushService:
    url: str

    def subscribe(self, application_server_key: str) -> dict[str, Any]:
        """A browser's subscription (``endpoint``, ``keys``) for the VAPID key, and its ``clientHash``."""
        r = httpx.post(f"{self.url}/subscribe", json={"applicationServerKey": application_server_key})
        assert r.status_code == 200, r.text
        return dict(r.json()["data"])

    def messages(self, client_hash: str) -> list[str]:
        """The decrypted payloads the subscription received so far."""
        r = httpx.post(f"{self.url}/get-notifications", json={"clientHash": client_hash})
        assert r.status_code == 200, r.text
        return list(r.json()["data"]["messages"])

    def expire(self, client_hash: str) -> None:
        """From now on the service answers 410 Gone to pushes to this subscription."""
        assert httpx.post(f"{self.url}/expire-subscription/{client_hash}").status_code == 200


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def push_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PushService]:
    node = ensure_node_packages()
    port = _free_port()
    log = tmp_path_factory.mktemp("webpush") / "push.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [node, "push_service.js", str(port)], cwd=NODE_DIR, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.post(f"{url}/status").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                service_missing(f"web-push-testing (did not start: {log.read_text()[-2000:]})")
            time.sleep(0.1)
        yield PushService(url)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
