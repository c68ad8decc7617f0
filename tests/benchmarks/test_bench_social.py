"""Smoke test of ``socialflow bench social`` on a tiny graph: it builds, indexes, measures and
reports every case, beside ILIKE, and leaves no database behind."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from benchmarks.social import main, percentile


def test_percentile() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 99), percentile([3.0], 99)) == (50.0, 99.0, 3.0)


def test_social_benchmark_runs_and_reports(tmp_path: Path, postgres_server_url: str) -> None:
    out = tmp_path / "results"
    out.mkdir()
    argv = ["--postgres", postgres_server_url, "--scale", "0.002", "--rounds", "5", "--writes", "20"]
    assert main(argv, out) == 0
    report = json.loads((out / "social.json").read_text())
    assert report["benchmark"] == "social" and report["scale"]["posts"] == 400
    assert report["index"]["documents"] == {"videos": 100, "users": 20, "channels": 20, "posts": 400}
    assert {(r["kind"], r["query"]) for r in report["search"]} == {
        (kind, query)
        for kind in ("posts", "videos")
        for query in ("one term", "two terms", "rare", "common", "prefix")
    }
    for row in report["search"]:
        assert row["ours"]["p99_ms"] >= row["ours"]["p50_ms"] > 0 and row["ilike"]["p50_ms"] > 0
    common = next(r for r in report["search"] if r["kind"] == "posts" and r["query"] == "common")
    assert common["hits_on_first_page"] == 20
    assert all(p["p99_ms"] > 0 for p in report["pages"])
    assert [p["page"] for p in report["pages"]][-4:] == [
        "catalogue, latest",
        "catalogue, popular",
        "catalogue, a tag",
        "catalogue, a channel",
    ]
    assert {(w["operation"], w["threads"]) for w in report["writes"]} == {
        (op, n) for op in ("like", "follow") for n in (1, 8)
    }
    assert (out / "social.png").read_bytes().startswith(b"\x89PNG")
    admin = sa.create_engine(postgres_server_url)
    with admin.connect() as conn:
        left = conn.execute(
            sa.text("SELECT count(*) FROM pg_database WHERE datname LIKE 'sf_bench_social_%'")
        )
        assert left.scalar_one() <= 1  # at most the full run another process may have going
    admin.dispose()
