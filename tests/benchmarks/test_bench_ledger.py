"""Smoke test of ``socialflow bench ledger`` at its smallest: every case runs and reports, the
ledger's invariants hold after each, and no database is left behind."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from benchmarks.ledger import main


def test_ledger_benchmark_runs_and_reports(tmp_path: Path, postgres_server_url: str) -> None:
    out = tmp_path / "results"
    out.mkdir()
    assert main(["--postgres", postgres_server_url, "--scale", "0.0001"], out) == 0
    report = json.loads((out / "ledger.json").read_text())
    for case in ("ledger_1", "ledger_8", "webhooks", "payouts"):
        assert report[case]["invariant_ok"] is True, case
    assert report["naive_1"]["invariant_ok"] is True  # one writer cannot lose an update
    assert report["webhooks"]["outcomes"]["applied"] == 100
    assert report["payouts"]["creators"] == 10 and report["payouts"]["view_records"] > 0
    assert report["pgledger_per_second_m3"] == 10_000 and report["per_core"] > 0
    assert (out / "ledger.png").read_bytes().startswith(b"\x89PNG")
    engine = sa.create_engine(postgres_server_url)
    with engine.connect() as conn:
        left = conn.execute(
            sa.text("SELECT count(*) FROM pg_database WHERE datname LIKE 'sf_bench_ledger_%'")
        ).scalar()
    engine.dispose()
    assert left == 0
