"""Smoke test of ``socialflow bench upload`` at a tiny size, ours only (``--no-peer``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import run_benchmark
from benchmarks._common import MIB, parse_size
from benchmarks.upload import build_cases

CASE_FIELDS = {
    "name",
    "server",
    "upload_size",
    "uploads",
    "chunk_size",
    "total_bytes",
    "seconds",
    "mb_per_s",
    "peak_rss_mib",
    "idle_rss_mib",
    "error",
}


def test_upload_benchmark_runs_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "results"
    # one server for the three cases keeps this test short; the benchmark's default is one per case
    argv = [
        "--size",
        "2MiB",
        "--chunk-sizes",
        "1MiB",
        "--no-peer",
        "--reuse-server",
        "--workdir",
        str(tmp_path),
    ]
    assert run_benchmark("upload", str(out), argv) == 0
    report = json.loads((out / "upload.json").read_text())
    png = (out / "upload.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000

    assert report["size"] == 2 * MIB and report["chunk_sizes"] == [MIB]
    assert report["peer"]["ran"] is False and report["peer"]["error"] is None
    assert report["fresh_server_per_case"] is False
    disk = report["disk_limit"]
    assert disk["bytes"] == 2 * MIB and disk["mb_per_s"] > 0
    assert len(disk["runs"]) == 2 and disk["mb_per_s"] == max(run["mb_per_s"] for run in disk["runs"])
    cases = {(c["server"], c["name"]): c for c in report["cases"]}
    assert set(cases) == {
        ("socialflow", "single-1MiB"),
        ("socialflow", "concurrent-8"),
        ("socialflow", "single-1MiB-quarter"),
    }
    for case in cases.values():
        assert set(case) == CASE_FIELDS
        assert case["error"] is None
        assert case["seconds"] > 0 and case["mb_per_s"] > 0
        assert case["mb_per_s"] == pytest.approx(case["total_bytes"] / 1e6 / case["seconds"])
        # a Python server holds tens of MiB, and its peak is never below its idle size
        assert 20 < case["idle_rss_mib"] <= case["peak_rss_mib"] < 2048
    assert cases[("socialflow", "concurrent-8")]["total_bytes"] == 2 * MIB
    assert cases[("socialflow", "single-1MiB-quarter")]["upload_size"] == MIB // 2

    targets = {t["id"]: t for t in report["targets"]}
    assert set(targets) == {
        "as-fast-as-node:single-1MiB",
        "as-fast-as-node:concurrent-8",
        "disk-70pct:single-1MiB",
        "flat-memory",
    }
    single = cases[("socialflow", "single-1MiB")]
    assert targets["as-fast-as-node:single-1MiB"]["passed"] is None  # no peer to compare with
    assert targets["as-fast-as-node:single-1MiB"]["ours_mb_per_s"] == single["mb_per_s"]
    disk_target = targets["disk-70pct:single-1MiB"]
    assert disk_target["ratio"] == pytest.approx(single["mb_per_s"] / disk["mb_per_s"])
    assert disk_target["passed"] is (disk_target["ratio"] >= 0.7)
    flat = targets["flat-memory"]
    assert flat["peak_rss_mib_full"] == single["peak_rss_mib"]
    assert flat["peak_rss_mib_quarter"] == cases[("socialflow", "single-1MiB-quarter")]["peak_rss_mib"]
    assert isinstance(flat["passed"], bool)
    assert not list(tmp_path.glob("socialflow-bench-upload-*")), "the work folder is removed"


def test_upload_cases_split_the_size() -> None:
    cases = build_cases(64 * MIB, [5 * MIB, 50 * MIB], 8, 5 * MIB, ["socialflow", "tus-node"])
    names = [(c.server, c.name, c.uploads, c.upload_size, c.chunk_size) for c in cases]
    assert names == [
        ("socialflow", "single-5MiB", 1, 64 * MIB, 5 * MIB),
        ("tus-node", "single-5MiB", 1, 64 * MIB, 5 * MIB),
        ("socialflow", "single-50MiB", 1, 64 * MIB, 50 * MIB),
        ("tus-node", "single-50MiB", 1, 64 * MIB, 50 * MIB),
        ("socialflow", "concurrent-8", 8, 8 * MIB, 5 * MIB),
        ("tus-node", "concurrent-8", 8, 8 * MIB, 5 * MIB),
        ("socialflow", "single-50MiB-quarter", 1, 16 * MIB, 50 * MIB),
    ]


@pytest.mark.parametrize(
    ("text", "size"), [("1GiB", 1024**3), ("64MiB", 64 * MIB), ("500MB", 500 * 10**6), ("2048", 2048)]
)
def test_sizes_parse(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "MiB", "12 parsecs", "-5MiB"])
def test_bad_sizes_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a size"):
        parse_size(text)


def test_bad_arguments_exit_2(tmp_path: Path) -> None:
    assert run_benchmark("upload", str(tmp_path), ["--chunk-sizes", "lots", "--no-peer"]) == 2
    assert not (tmp_path / "upload.json").exists()
