"""Smoke test of ``socialflow bench notify`` at a tiny size: two API processes and a worker come up
on PostgreSQL and Redis, every client connects and receives what it was sent, and the report has
every figure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.webpush import ensure_node_packages

from benchmarks.notify import main, percentile


def test_percentile() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 99), percentile([3.0], 99)) == (50.0, 99.0, 3.0)


@pytest.mark.slow
@pytest.mark.parametrize("via", ["events", "api"])
def test_notify_benchmark_runs_and_reports(
    tmp_path: Path, postgres_server_url: str, redis_url: str, via: str
) -> None:
    ensure_node_packages()
    out = tmp_path / "results"
    out.mkdir()
    argv = ["--postgres", postgres_server_url, "--redis", redis_url, "--clients", "4", "--rate", "4"]
    argv += ["--via", via, "--generators", "1"]
    assert main([*argv, "--seconds", "1", "--pushes", "8", "--worker-threads", "2"], out) == 0
    report = json.loads((out / "notify.json").read_text())
    delivery = report["delivery"]
    assert delivery["connected"] == 4 and delivery["events_sent"] == 4 and delivery["received"] == 4
    assert delivery["p99_ms"] >= delivery["p50_ms"] > 0 and 1 <= delivery["ingest_jobs"]["drains"] <= 4
    assert delivery["ingest_jobs"]["drained_items"] == 4
    assert report["memory"]["api_rss_connected_mib"] > 0
    pushes = [p for p in report["web_push"] if "threads" in p]
    assert [p["threads"] for p in pushes] == [1, 4] and all(p["per_second"] > 0 for p in pushes)
    assert report["web_push"][-1] == {"decrypted_by_push_service": 16}
    assert (out / "notify.png").read_bytes().startswith(b"\x89PNG")
