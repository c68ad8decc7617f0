"""Smoke test of ``socialflow bench transcode --quick``: every contender runs and is reported."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from benchmarks.transcode import CONTENDERS, main, targets

CONTENDER_FIELDS = {
    "clip",
    "contender",
    "seconds",
    "all_seconds",
    "realtime",
    "cpu_seconds",
    "psnr_db",
    "error",
}


def test_transcode_benchmark_quick_runs_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "results"
    started = time.monotonic()
    argv = ["--quick", "--cache-dir", str(tmp_path / "clips"), "--workdir", str(tmp_path)]
    assert main(argv, out) == 0
    assert time.monotonic() - started < 60  # the brief asks < 30 s on an idle machine
    png = (out / "transcode.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000
    report = json.loads((out / "transcode.json").read_text())

    assert report["benchmark"] == "transcode" and report["quick"] is True
    assert report["ffmpeg"].startswith("ffmpeg version")
    clips = {c["name"]: c for c in report["clips"]}
    assert set(clips) == {"360p", "480p"}
    assert [r["name"] for r in clips["360p"]["ladder"]] == ["360p", "240p"]
    assert [(r["width"], r["height"]) for r in clips["480p"]["ladder"]] == [(854, 480), (640, 360)]
    assert all(r["encoder"] == "libx264" and r["preset"] == "veryfast" for r in clips["480p"]["ladder"])

    entries = {(r["clip"], r["contender"]): r for r in report["contenders"]}
    assert set(entries) == {(clip, name) for clip in clips for name in CONTENDERS}
    for (clip, _), entry in entries.items():
        assert set(entry) == CONTENDER_FIELDS
        assert entry["error"] is None
        assert entry["seconds"] == min(entry["all_seconds"]) > 0
        assert 0 < entry["cpu_seconds"] < 4 * entry["seconds"] + 1
        assert entry["realtime"] == pytest.approx(2.0 / entry["seconds"])
        assert list(entry["psnr_db"]) == [r["name"] for r in clips[clip]["ladder"]]
        # real encodes of a noisy source at these bitrates: neither lossless nor garbage
        assert all(30.0 < db < 60.0 for db in entry["psnr_db"].values())
    for clip in clips:
        ours = entries[(clip, "socialflow")]["psnr_db"]
        theirs = entries[(clip, "ffmpeg-split")]["psnr_db"]
        assert all(abs(ours[name] - theirs[name]) < 0.5 for name in ours)  # same pixels in

    chunked = report["chunked"]
    assert chunked["clip"]["name"] == "360p-long"
    runs = {r["workers"]: r for r in chunked["results"]}
    assert set(runs) == {1, 2}
    assert runs[1]["x264_threads_per_encoder"] == "auto"
    assert runs[2]["worker_processes_started"] == 2 and runs[2]["x264_threads_per_encoder"] >= 1
    for run in runs.values():
        assert run["runs"] == 2 and run["segments_per_run"] == 1 and run["renditions"] == 2
        assert run["seconds"] > 0 and run["realtime"] == pytest.approx(8.0 / run["seconds"])
        assert run["cpu_seconds"] > 0
        # each part read the source from the store by ranges; before, each downloaded all of it
        assert [p["part"] for p in run["parts"]] == ["run:0", "run:1", "audio"]
        for part in run["parts"]:
            assert part["full_read_bytes"] == run["source_bytes"] > 0
            assert 0 < part["bytes_read"] and part["requests"] >= 1 and part["segments"] >= 1
    assert chunked["store"] == "file"

    ids = [t["id"] for t in report["targets"]]
    assert ids == [
        "within-1.10x-of-ffmpeg-split:360p",
        "faster-than-per-rung:360p",
        "within-1.10x-of-ffmpeg-split:480p",
        "faster-than-per-rung:480p",
        "chunked-2-workers-1.7x",
    ]
    assert all(isinstance(t["passed"], bool) for t in report["targets"])


def test_targets_judge_ratios_and_leave_missing_figures_unjudged() -> None:
    results = [
        {"clip": "720p", "contender": "ffmpeg-split", "seconds": 10.0},
        {"clip": "720p", "contender": "ffmpeg-per-rung", "seconds": 10.5},
        {"clip": "720p", "contender": "socialflow", "seconds": 10.8},
        {"clip": "1080p", "contender": "ffmpeg-split", "seconds": None},
        {"clip": "1080p", "contender": "ffmpeg-per-rung", "seconds": 30.0},
        {"clip": "1080p", "contender": "socialflow", "seconds": 31.0},
    ]
    chunked = [{"workers": 1, "seconds": 20.0}, {"workers": 2, "seconds": 11.0}]
    found = {t["id"]: t for t in targets(results, chunked)}
    assert found["within-1.10x-of-ffmpeg-split:720p"]["passed"] is True
    assert found["within-1.10x-of-ffmpeg-split:720p"]["ratio"] == pytest.approx(1.08)
    assert found["faster-than-per-rung:720p"]["passed"] is False
    assert found["within-1.10x-of-ffmpeg-split:1080p"]["passed"] is None
    assert found["faster-than-per-rung:1080p"]["passed"] is False
    assert found["chunked-2-workers-1.7x"]["speedup"] == pytest.approx(20 / 11)
    assert found["chunked-2-workers-1.7x"]["passed"] is True
    slow = {
        t["id"]: t
        for t in targets(results, [{"workers": 1, "seconds": 20.0}, {"workers": 2, "seconds": 12.0}])
    }
    assert slow["chunked-2-workers-1.7x"]["passed"] is False
