"""X-Forwarded-For through a real `socialflow serve`: believed only from SOCIALFLOW_TRUSTED_PROXIES.

uvicorn rewrites the peer address from X-Forwarded-For for any peer in FORWARDED_ALLOW_IPS
(loopback by default) unless told not to; then a client on the same host escapes the per-address
login limit by sending a made-up address with each attempt.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from support.waiting import wait_until

from control_plane.accounts.routes.accounts import LOGIN_PER_IP

SOCIALFLOW = str(Path(sys.executable).with_name("socialflow"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def _serving(folder: Path, **settings: str) -> Iterator[str]:
    """`socialflow serve` on the embedded default in ``folder``, with free ports; yields its URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALFLOW_")}
    port = _free_port()
    env |= {"SOCIALFLOW_HTTP_PORT": str(port), "SOCIALFLOW_RTMP_PORT": str(_free_port()), **settings}
    # FORWARDED_ALLOW_IPS is uvicorn's own setting: it must change nothing.
    env["FORWARDED_ALLOW_IPS"] = "*"
    proc = subprocess.Popen(
        [SOCIALFLOW, "serve"], cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_until(lambda: _answers(base) or proc.poll() is not None, 60, step=0.2)
        assert proc.poll() is None, proc.communicate()[0].decode()
        yield base
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def _login_statuses(base: str, attempts: int, *, until: int | None = None) -> list[int]:
    """Failed sign-ins, each for another account and from another made-up address; stops after
    the first answer ``until``."""
    statuses: list[int] = []
    with httpx.Client(base_url=base, timeout=30) as http:
        for i in range(attempts):
            r = http.post(
                "/api/v1/auth/login",
                json={"username": f"nobody{i}", "password": "not the password"},
                headers={"X-Forwarded-For": f"203.0.113.{i % 250 + 1}"},
            )
            statuses.append(r.status_code)
            if r.status_code == until:
                break
    return statuses


def test_a_made_up_forwarded_address_does_not_escape_the_login_limit(tmp_path: Path) -> None:
    # The limit's window slides over two fixed ones: attempts that straddle a boundary may need up
    # to twice the count, never fewer than the count.
    with _serving(tmp_path) as base:
        statuses = _login_statuses(base, 2 * LOGIN_PER_IP.count + 1, until=429)
    assert statuses[-1] == 429, statuses
    assert len(statuses) > LOGIN_PER_IP.count and set(statuses[:-1]) == {401}


def test_a_trusted_proxy_forwards_each_clients_address(tmp_path: Path) -> None:
    with _serving(tmp_path, SOCIALFLOW_TRUSTED_PROXIES='["127.0.0.1"]') as base:
        statuses = _login_statuses(base, LOGIN_PER_IP.count + 1)
    assert statuses == [401] * (LOGIN_PER_IP.count + 1)
