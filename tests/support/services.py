"""Fixtures for the real services the production path uses.

A test that needs PostgreSQL, Redis or RabbitMQ skips on a laptop without them, and fails in CI
(``CI=true``) so that a missing service is never silently green.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

POSTGRES_URL = os.environ.get(
    "SOCIALFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("SOCIALFLOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RABBITMQ_URL = os.environ.get("SOCIALFLOW_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")


def service_missing(what: str) -> None:
    """Skip the calling test, or fail it in CI where every service must be up."""
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is not reachable", pytrace=False)
    pytest.skip(f"{what} not reachable")


def port_open(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    if not port_open(POSTGRES_URL, 5432):
        service_missing("PostgreSQL")
    return POSTGRES_URL


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    import sqlalchemy as sa

    name = f"sf_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    base = postgres_server_url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _worker_redis(tmp: Path) -> Iterator[str]:
    """A Redis server of this test process's own on a free port: tests flush and share numbered
    databases, so processes running side by side (``pytest -n``) must not share one server."""
    binary = shutil.which("redis-server")
    if binary is None:
        service_missing("redis-server (one per test process under pytest -n)")
    assert binary is not None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp),
            "--logfile",
            str(tmp / "redis.log"),
        ],
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 20
        while not port_open(url, port):
            assert proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The test Redis, without the rate-limit counters an earlier run left there: every test
    client is ``testclient`` to the limiter, so a run started within a limit's window of another
    (a local run just before CI) would otherwise begin with its sign-ups partly spent. Under
    ``pytest -n`` the first test process uses it and every other one starts its own."""
    if not port_open(REDIS_URL, 6379):
        service_missing("Redis")
    if os.environ.get("PYTEST_XDIST_WORKER", "gw0") != "gw0":
        yield from _worker_redis(tmp_path_factory.mktemp("redis"))
        return
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        stale = list(client.scan_iter("rl:*", count=1000))
        if stale:
            client.delete(*stale)
    finally:
        client.close()
    yield REDIS_URL


@pytest.fixture(scope="session")
def rabbitmq_url() -> str:
    if not port_open(RABBITMQ_URL, 5672):
        service_missing("RabbitMQ")
    return RABBITMQ_URL
