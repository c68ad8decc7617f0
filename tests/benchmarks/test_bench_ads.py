"""Smoke test of ``socialflow bench ads`` on a few campaigns: it builds, decides both ways, finds
the same campaigns with the index as with the SQL filter, ingests beacons and reports."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.ads import main


def test_ads_benchmark_runs_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "results"
    out.mkdir()
    assert main(["--scale", "0.005", "--decisions", "60", "--seconds", "0.2"], out) == 0
    report = json.loads((out / "ads.json").read_text())
    assert report["benchmark"] == "ads" and report["campaigns"] == 50
    assert report["agreement"]["different"] == 0 and report["agreement"]["same"] == 60
    for variant in ("index", "sql"):
        assert report["decision"][variant]["p99_ms"] >= report["decision"][variant]["p50_ms"] > 0
        assert report["decisions_per_second"][variant] > 0
    assert report["beacons"]["beacons"] > 0 and report["beacons"]["outcomes"].get("counted", 0) > 0
    assert set(report["beacons"]["outcomes"]) <= {"counted", "unpaid"}
    assert (out / "ads.png").read_bytes().startswith(b"\x89PNG")
