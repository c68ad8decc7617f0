"""The production path: PostgreSQL, a Redis or RabbitMQ broker, S3 storage and a separate
``socialflow worker`` process, all real."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from support.platform import Platform, production
from support.s3 import S3Server

SOCIALFLOW = str(Path(sys.executable).with_name("socialflow"))


def env_of(settings) -> dict[str, str]:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALFLOW_")}
    for name in ("data_dir", "database_url", "broker_url", "redis_url", "storage_url", "secret_key"):
        value = getattr(settings, name)
        if value:
            env[f"SOCIALFLOW_{name.upper()}"] = str(value)
    env["SOCIALFLOW_WORKER_HEARTBEAT_TIMEOUT"] = "5"
    return env


@pytest.mark.parametrize("broker_kind", ["redis", "rabbitmq"])
def test_job_from_the_api_runs_on_a_separate_worker_process(
    tmp_path: Path,
    postgres_url: str,
    redis_url: str,
    rabbitmq_url: str,
    s3_bucket_url: str,
    platform_factory: Callable[..., Platform],
    broker_kind: str,
) -> None:
    if broker_kind == "redis":
        broker_url = redis_url.rsplit("/", 1)[0] + "/3"
        redis.Redis.from_url(broker_url).flushdb()
    else:
        broker_url = rabbitmq_url
    settings = production(
        tmp_path,
        database_url=postgres_url,
        broker_url=broker_url,
        storage_url=s3_bucket_url,
        redis_url=redis_url,
    )
    platform = platform_factory(settings, inprocess_workers=False)
    ready = platform.client.get("/readyz").json()
    assert ready["checks"] == {"database": "ok", "broker": "ok", "storage": "ok", "redis": "ok"}
    admin = platform.user("ops", role="admin")
    job_id = platform.client.post("/api/v1/ops/canary", headers=admin).json()["id"]
    time.sleep(0.5)
    assert platform.client.get(f"/api/v1/jobs/{job_id}", headers=admin).json()["status"] == "queued"

    worker = subprocess.Popen(
        [SOCIALFLOW, "worker", "--processes", "1", "--threads", "1"],
        env=env_of(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        job = platform.wait_job(job_id, admin, timeout=60)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        output = worker.communicate(timeout=30)[0].decode(errors="replace")
    assert job["status"] == "succeeded", (job, output[-3000:])
    host, pid, _ = job["worker"].split(":")  # host:pid:token
    assert int(pid) != os.getpid()  # ran in the worker process, not here
    assert job["result"]["bytes"] == 64 * 1024
    assert list(platform.services.store.list("ops/")) == []


def run_cli(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SOCIALFLOW, *args], env=env, capture_output=True, text=True, timeout=timeout)


def clean_env(tmp_path: Path, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALFLOW_")}
    env["SOCIALFLOW_DATA_DIR"] = str(tmp_path / "data")
    env.update({f"SOCIALFLOW_{k.upper()}": v for k, v in values.items()})
    return env


STRONG = "k3Jd9s0Qm2LxV7pR4tYw8Zb1Nc6Hf5Ga-strong"


@pytest.mark.parametrize(
    ("command", "values", "expected"),
    [
        (
            ["serve"],
            {"database_url": "postgresql+psycopg://postgres@127.0.0.1:1/none", "secret_key": STRONG},
            "cannot reach the database at postgresql+psycopg://postgres@127.0.0.1:1/none",
        ),
        (
            ["serve"],
            {"database_url": "oracle://db/x"},
            "SOCIALFLOW_DATABASE_URL: unknown database URL scheme",
        ),
        (["serve"], {"storage_url": "ftp://host/x", "secret_key": STRONG}, "SOCIALFLOW_STORAGE_URL: unknown"),
        (
            ["serve"],
            {"broker_url": "redis://127.0.0.1:6379/0", "secret_key": "changeme"},
            "SOCIALFLOW_SECRET_KEY is a known default",
        ),
        (["serve"], {"broker_url": "redis://127.0.0.1:6379/0"}, "SOCIALFLOW_SECRET_KEY is required"),
        (["worker"], {}, "`socialflow worker` needs SOCIALFLOW_BROKER_URL"),
        (
            ["serve"],
            {"broker_url": "redis://127.0.0.1:1/0", "secret_key": STRONG},
            "cannot reach the broker at redis://127.0.0.1:1/0",
        ),
        (
            ["migrate"],
            {"database_url": "postgresql+psycopg://u:hunter2@127.0.0.1:1/x", "secret_key": STRONG},
            "cannot reach the database at postgresql+psycopg://u:***@127.0.0.1:1/x",
        ),
    ],
)
def test_bad_configuration_stops_with_one_clear_line(
    tmp_path: Path, command: list[str], values: dict[str, str], expected: str
) -> None:
    result = run_cli(command, clean_env(tmp_path, **values))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("socialflow: error: ") and expected in lines[0], lines[0]
    assert "Traceback" not in result.stderr and "hunter2" not in result.stderr


def test_production_serve_refuses_an_unmigrated_database(tmp_path: Path, postgres_url: str) -> None:
    env = clean_env(tmp_path, database_url=postgres_url, secret_key=STRONG)
    refused = run_cli(["serve"], env)
    assert refused.returncode == 2 and "run `socialflow migrate` first" in refused.stderr
    migrated = run_cli(["migrate"], env)
    assert migrated.returncode == 0 and "database at revision" in migrated.stdout


def test_migrate_creates_a_missing_bucket_that_serve_names(
    tmp_path: Path, postgres_url: str, s3_server: S3Server
) -> None:
    bucket = f"sf-fresh-{uuid.uuid4().hex[:12]}"
    migrated = run_cli(["migrate"], clean_env(tmp_path, database_url=postgres_url, secret_key=STRONG))
    assert migrated.returncode == 0, migrated.stderr  # the database only; blobs on local disk
    env = clean_env(tmp_path, database_url=postgres_url, secret_key=STRONG, storage_url=s3_server.url(bucket))

    refused = run_cli(["serve"], env)
    error = refused.stderr.strip().splitlines()[-1]  # after the schema check's log lines
    assert refused.returncode == 2 and error.startswith("socialflow: error: "), refused.stderr
    assert (
        f"the bucket '{bucket}' does not exist at {s3_server.endpoint}; `socialflow migrate` creates it"
        in error
    )
    assert "no blob" not in refused.stderr and s3_server.secret_key not in refused.stderr

    writer = run_cli(["migrate"], {**env, "SOCIALFLOW_STORAGE_URL": s3_server.url(bucket, writer=True)})
    assert writer.returncode == 2 and len(writer.stderr.strip().splitlines()) == 1, writer.stderr
    assert (
        f"the bucket '{bucket}' does not exist at {s3_server.endpoint} and these credentials" in writer.stderr
    )

    created = run_cli(["migrate"], env)
    assert created.returncode == 0, created.stderr
    assert f"bucket {bucket} created at {s3_server.endpoint}" in created.stdout
    assert bucket in [b["Name"] for b in s3_server.client().list_buckets()["Buckets"]]
    again = run_cli(["migrate"], env)
    assert again.returncode == 0 and f"bucket {bucket} exists" in again.stdout
    s3_server.client().delete_bucket(Bucket=bucket)


def test_migrate_waits_for_a_store_that_is_starting(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"s3://k:secret@sf-later?endpoint=http://127.0.0.1:{port}"
    env = clean_env(tmp_path, storage_url=url, secret_key=STRONG)
    started = time.monotonic()
    result = run_cli(["migrate", "--wait", "3"], env)
    assert result.returncode == 2 and "cannot use the blob store at s3://k:***@sf-later" in result.stderr
    assert time.monotonic() - started >= 3  # it tried again until the wait ran out
