"""Fixtures that stand the platform up: settings, services, an API client, signed-in users."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from control_plane.app import create_app
from control_plane.core import migrate
from control_plane.core.settings import Settings, load_settings
from control_plane.services import Services, build_services


def embedded(tmp_path: Path, **overrides: object) -> Settings:
    return load_settings(data_dir=tmp_path / "data", **overrides)


def production(
    tmp_path: Path,
    *,
    database_url: str,
    broker_url: str,
    storage_url: str,
    redis_url: str | None = None,
    **overrides: object,
) -> Settings:
    return load_settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        broker_url=broker_url,
        storage_url=storage_url,
        redis_url=redis_url,
        secret_key=secrets.token_urlsafe(48),
        **overrides,
    )


@dataclass
class Platform:
    """A running platform in this test process: services, API client and in-process workers."""

    services: Services
    client: TestClient

    def user(
        self, username: str, *, role: str = "creator", password: str = "correct horse battery"
    ) -> dict[str, str]:
        """Register (if new) and sign in; returns Authorization headers."""
        r = self.client.post(
            "/api/v1/auth/register",
            json={"username": username, "email": f"{username}@example.com", "password": password},
        )
        assert r.status_code in (201, 409), r.text
        if role != "creator":
            self.services.accounts.set_role(username, role)
        r = self.client.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def upload(self, headers: dict[str, str], data: bytes) -> str:
        """Upload ``data`` in one tus PATCH as the signed-in user of ``headers``; returns the video id."""
        tus = {**headers, "Tus-Resumable": "1.0.0"}
        r = self.client.post(
            "/api/v1/uploads/",
            headers={**tus, "Upload-Length": str(len(data)), "Upload-Metadata": "filename Y2xpcC5tcDQ="},
        )
        assert r.status_code == 201, r.text
        location = r.headers["location"]
        r = self.client.patch(
            location,
            content=data,
            headers={**tus, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
        )
        assert r.status_code == 204, r.text
        return str(location.rsplit("/", 1)[1])

    def wait_job(
        self,
        job_id: str,
        headers: dict[str, str],
        *,
        timeout: float = 30.0,
        until: tuple[str, ...] = ("succeeded", "failed"),
    ) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            body = self.client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()
            if body.get("status") in until or time.monotonic() > deadline:
                return body
            time.sleep(0.05)


def start_platform(settings: Settings, *, inprocess_workers: bool = True) -> Iterator[Platform]:
    from workers import runtime
    from workers.broker import broker_for
    from workers.inprocess import start_inprocess_workers
    from workers.live import WhipIngest

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    services = build_services(settings, broker=broker_for(settings))
    migrate.upgrade(services.db)
    runtime.configure(
        runtime.WorkerContext(
            settings=settings,
            db=services.db,
            store=services.store,
            kv=services.kv,
            broker=services.broker,
            pubsub=services.pubsub,
        )
    )
    worker = start_inprocess_workers(services.broker, 2) if inprocess_workers else None
    try:
        with TestClient(create_app(services, whip=WhipIngest(services))) as client:
            yield Platform(services=services, client=client)
    finally:
        if worker is not None:
            worker.stop()
        services.close()
        runtime.reset()


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    """The embedded default: SQLite, local blobs, stub broker with worker threads."""
    yield from start_platform(embedded(tmp_path))


@pytest.fixture
def platform_factory(tmp_path: Path) -> Iterator[Callable[..., Platform]]:
    """Start a platform on given settings; all are stopped at the end of the test."""
    gens: list[Iterator[Platform]] = []

    def make(settings: Settings, *, inprocess_workers: bool = True) -> Platform:
        gen = start_platform(settings, inprocess_workers=inprocess_workers)
        gens.append(gen)
        return next(gen)

    yield make
    for gen in reversed(gens):
        for _ in gen:
            pass


@contextmanager
def live_server(platform: Platform) -> Iterator[str]:
    """Serve the platform's app over real HTTP on a free loopback port; yields the base URL."""
    import threading

    import uvicorn

    from control_plane.http.clientip import proxy_header_options

    proxies = proxy_header_options(platform.services.settings.trusted_proxies)
    server = uvicorn.Server(
        uvicorn.Config(
            platform.client.app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", **proxies
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
