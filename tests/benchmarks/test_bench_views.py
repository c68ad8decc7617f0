"""Smoke test of ``socialflow bench views`` at a tiny scale: it serves, drives heartbeats, measures
the lag and the rollup beside their naive alternatives, writes its JSON and PNG, and leaves no
database behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from support.backends import REDIS_DB

from benchmarks.views import main


@pytest.mark.slow
def test_views_benchmark_runs_and_reports(tmp_path: Path, postgres_server_url: str, redis_url: str) -> None:
    out = tmp_path / "results"
    out.mkdir()
    own = (
        f"{redis_url.rsplit('/', 1)[0]}/{REDIS_DB}"  # the production-form platforms' database: emptied anyway
    )
    argv = [
        "--postgres", postgres_server_url, "--redis", own, "--scale", "0.0005", "--seconds", "2",
        "--clients", "1", "--concurrency", "4", "--in-process", "200", "--lag-rounds", "1", "--videos", "20",
        "--recs-users", "120", "--recs-items", "150", "--recs-rounds", "10",
    ]  # fmt: skip
    assert main(argv, out) == 0
    report = json.loads((out / "views.json").read_text())
    assert report["benchmark"] == "views" and report["ingestion"]["http"]["heartbeats"] > 0
    assert report["ingestion"]["http"]["refused"] == 0
    assert report["ingestion"]["in_process"]["redis_buffer_per_second"] > 0
    assert 0 < report["lag"]["median_s"] < 30
    assert report["rollup"]["heartbeats"] == 5000 and report["rollup"]["rolled"] == 5000 // 24
    assert report["rollup"]["naive_groups"] > 0
    recs = report["recommendations"]
    assert set(recs["offline"]["methods"]) == {"popularity", "als", "content", "cowatch", "blend"}
    assert recs["serve"]["model"]["items"] == 150 + 20  # and the ingestion's and recs["serve"]["p99_ms"] > 0
    assert (out / "views.png").read_bytes().startswith(b"\x89PNG")
    admin = sa.create_engine(postgres_server_url)
    with admin.connect() as conn:
        left = conn.execute(sa.text("SELECT count(*) FROM pg_database WHERE datname LIKE 'sf_bench_views_%'"))
        assert left.scalar_one() <= 1  # at most a full run another process may have going
    admin.dispose()


@pytest.mark.slow
def test_the_in_process_heartbeat_probe_runs_the_whole_app(postgres_server_url: str, redis_url: str) -> None:
    """``benchmarks._views_asgi``: every heartbeat it times is answered 200 by the whole app."""
    from benchmarks._views_asgi import main as probe

    own = f"{redis_url.rsplit('/', 1)[0]}/{REDIS_DB}"
    argv = ["--postgres", postgres_server_url, "--redis", own, "--heartbeats", "64", "--in-flight", "4"]
    result = probe(argv)
    assert result["heartbeats"] == 64 and result["statuses"] == {200: 64}
    assert result["cpu_us_per_heartbeat"] > 0
