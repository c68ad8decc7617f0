"""`socialflow serve` as users run it, and the migrations on both databases."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from control_plane.core import migrate
from control_plane.core.db import Base, Database

SOCIALFLOW = str(Path(sys.executable).with_name("socialflow"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_on_the_embedded_default(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALFLOW_")}
    env["SOCIALFLOW_HTTP_PORT"] = str(port)
    proc = subprocess.Popen(
        [SOCIALFLOW, "serve"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[0]
            time.sleep(0.2)
        assert httpx.get(f"{base}/readyz").json()["status"] == "ready"
        assert "socialflow_http_requests_total" in httpx.get(f"{base}/metrics").text
        r = httpx.post(
            f"{base}/api/v1/auth/register",
            json={"username": "zoe", "email": "zoe@example.com", "password": "a long passphrase"},
        )
        assert r.status_code == 201
        tokens = httpx.post(
            f"{base}/api/v1/auth/login", json={"username": "zoe", "password": "a long passphrase"}
        )
        me = httpx.get(
            f"{base}/api/v1/users/me", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"}
        )
        assert me.json()["username"] == "zoe"
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0].decode()
    data = tmp_path / ".socialflow"
    assert (data / "socialflow.db").exists() and (data / "secret_key").exists() and (data / "blobs").is_dir()
    assert '"msg": "serving"' in out


def check_schema_matches_models(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(
                conn, opts={"compare_type": True, "include_object": migrate.include_object}
            ),
            Base.metadata,
        )
    assert diff == [], diff


def test_migrations_on_sqlite(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    assert migrate.current_revision(db) is None
    assert migrate.upgrade(db) == migrate.head_revision()
    check_schema_matches_models(db)
    assert migrate.upgrade(db) == migrate.head_revision()  # idempotent
    db.dispose()


def test_migrations_on_postgresql(postgres_url: str) -> None:
    db = Database(postgres_url)
    assert migrate.upgrade(db) == migrate.head_revision() and migrate.is_up_to_date(db)
    check_schema_matches_models(db)
    with db.engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
    assert {"users", "auth_sessions", "refresh_tokens", "jobs", "alembic_version"} <= tables
    db.dispose()
