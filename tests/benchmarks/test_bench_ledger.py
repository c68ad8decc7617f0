"""Smoke test of ``socialflow bench ledger`` at its smallest: every case runs and reports, the
ledger's invariants hold after each, and no database is left behind."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from benchmarks.ledger import main


def bench_databases(url: str) -> set[str]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        query = "SELECT datname FROM pg_database WHERE datname LIKE 'sf_bench_ledger_%'"
        names = set(conn.execute(sa.text(query)).scalars())
    engine.dispose()
    return names


def test_ledger_benchmark_runs_and_reports(tmp_path: Path, postgres_server_url: str) -> None:
    out = tmp_path / "results"
    out.mkdir()
    before = bench_databases(postgres_server_url)
    assert main(["--postgres", postgres_server_url, "--scale", "0.0001"], out) == 0
    report = json.loads((out / "ledger.json").read_text())
    for case in ("ledger_1", "ledger_8", "webhooks", "payouts"):
        assert report[case]["invariant_ok"] is True, case
    assert report["naive_1"]["invariant_ok"] is True  # one writer cannot lose an update
    assert report["webhooks"]["outcomes"]["applied"] == 100
    assert report["payouts"]["creators"] == 10 and report["payouts"]["view_records"] > 0
    assert report["pgledger_per_second_m3"] == 10_000 and report["per_core"] > 0
    assert (out / "ledger.png").read_bytes().startswith(b"\x89PNG")
    assert bench_databases(postgres_server_url) <= before  # its own database is dropped
