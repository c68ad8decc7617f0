"""A real OpenID Connect provider for browser tests: ``oidc_provider.mjs`` (npm ``oidc-provider``,
installed once into the user's cache, as the social-login tests install it) on a loopback port."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from support.locks import held
from support.services import service_missing

__all__ = ["free_port", "oidc_provider"]

NPM_DIR = Path.home() / ".cache" / "socialflow" / "oidc-provider"
SCRIPT = Path(__file__).resolve().with_name("oidc_provider.mjs")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _installed() -> tuple[str, Path]:
    """node, and the folder with ``oidc-provider`` installed (once) and our script copied in."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        service_missing("node and npm (for the oidc-provider test server)")
    assert node and npm
    with held("oidc-provider"):  # test processes running side by side install it once
        if not (NPM_DIR / "node_modules" / "oidc-provider" / "package.json").exists():
            NPM_DIR.mkdir(parents=True, exist_ok=True)
            done = subprocess.run(
                [npm, "install", "--prefix", str(NPM_DIR), "--no-audit", "--no-fund", "oidc-provider@9"],
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert done.returncode == 0, f"npm install oidc-provider failed:\n{done.stderr[-2000:]}"
        shutil.copyfile(SCRIPT, NPM_DIR / "oidc_provider.mjs")
    return node, NPM_DIR


@contextmanager
def oidc_provider(
    client_id: str, secret: str, redirects: Sequence[str], log: Path, port: int | None = None
) -> Iterator[str]:
    """The provider with one client allowed back to ``redirects`` on ``port`` (a free one by
    default; a fresh signing key each start); yields its issuer URL."""
    node, folder = _installed()
    port = port or free_port()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [node, "oidc_provider.mjs", str(port), client_id, secret, ",".join(redirects)],
            cwd=folder,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/.well-known/openid-configuration").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
