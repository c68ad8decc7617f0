"""Smoke test of ``socialflow bench feed`` on a tiny graph: it builds, fills, measures the three
strategies and reports every figure; the set-up's timelines are the service's own; no empty page;
no database or Redis key left behind."""

from __future__ import annotations

import json
from pathlib import Path

import redis
import sqlalchemy as sa

from benchmarks.feed import main


def test_feed_benchmark_runs_and_reports(tmp_path: Path, postgres_server_url: str, redis_url: str) -> None:
    out = tmp_path / "results"
    out.mkdir()
    argv = ["--postgres", postgres_server_url, "--redis", redis_url, "--scale", "0.002", "--rounds", "6"]
    assert main([*argv, "--posts", "3", "--push-max-followers", "60"], out) == 0
    report = json.loads((out / "feed.json").read_text())
    assert report["benchmark"] == "feed" and report["scale"]["users"] == 200
    assert report["graph"]["accounts_over_threshold"] >= 3  # the stars are pulled in the hybrid
    strategies = report["strategies"]
    assert set(strategies) == {"pull", "push", "hybrid"}
    for name, found in strategies.items():
        assert found["empty_pages"] == 0, name
        for what in ("read", "selection"):
            for kind in ("ordinary", "heavy"):
                assert found[what][kind]["p99_ms"] >= found[what][kind]["p50_ms"] > 0
    for name in ("push", "hybrid"):
        assert strategies[name]["fill_unlike_rebuild"] == 0
        assert strategies[name]["cold_read"]["empty_pages"] == 0
        assert 0 < strategies[name]["bytes_per_entry"] <= 25
    assert strategies["hybrid"]["bytes_per_entry_default"] > 50
    stars = {name: strategies[name]["fanout"]["star"]["writes_per_post"] for name in strategies}
    assert stars["pull"] == 0 and stars["hybrid"] == 0 and stars["push"] > 20
    assert strategies["hybrid"]["ranked"]["p50_ms"] > 0
    assert 0.5 < report["model"]["auc"] <= 1 and report["model"]["auc_recency_only"] is not None
    assert (out / "feed.png").read_bytes().startswith(b"\x89PNG")
    admin = sa.create_engine(postgres_server_url)
    with admin.connect() as conn:
        left = conn.execute(
            sa.text("SELECT count(*) FROM pg_database WHERE datname = :name"), {"name": report["database"]}
        )
        assert left.scalar_one() == 0
    admin.dispose()
    client = redis.Redis.from_url(redis_url)
    assert not list(client.scan_iter(f"{report['redis_prefix']}*", count=1000))
    client.close()
