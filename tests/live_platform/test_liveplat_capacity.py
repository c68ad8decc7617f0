"""The live capacity benchmark's parts: the lag read from a playlist, the keep-up judgement, and
a one-stream passthrough trial through a real ingest process and an ffmpeg publisher."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks._live_capacity import _judge, lags_of_playlist
from benchmarks.live import main

LIVE = """#EXTM3U
#EXT-X-PROGRAM-DATE-TIME:2026-11-22T07:00:00.000Z
#EXTINF:2.00000,
seg4.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-11-22T07:00:02.000Z
#EXT-X-PART:DURATION=0.50000,URI="part5.0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.46667,URI="part5.1.m4s"
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part5.2.m4s"
"""
T0 = 1795330800.0  # 2026-11-22T07:00:00Z


def test_lag_is_now_minus_the_live_edge() -> None:
    assert lags_of_playlist(LIVE, T0 + 3.0) == pytest.approx(3.0 - 2.96667, abs=1e-6)
    ended = "#EXT-X-PROGRAM-DATE-TIME:2026-11-22T07:00:00.000Z\n#EXTINF:2.00000,\nseg0.m4s\n"
    assert lags_of_playlist(ended, T0 + 2.5) == pytest.approx(0.5, abs=1e-6)
    assert lags_of_playlist("#EXTM3U\n", T0) is None


def test_judge_tells_a_growing_lag_from_a_saw_tooth() -> None:
    saw = [(t / 4, 0.1 + (t % 2) * 0.4) for t in range(0, 80)]  # 20 s, 0.1..0.5 s
    assert _judge(saw, 20)["ok"] and _judge(saw, 20)["lag_growth_s"] == 0.0
    growing = [(t / 4, 0.1 + t / 40) for t in range(0, 80)]  # 2 s behind after 20 s
    assert not _judge(growing, 20)["ok"]
    stalled = [(t, lag) for t, lag in saw if t < 12]  # no part in the last 8 s
    assert _judge(stalled, 20) == {"ok": False, "why": "no parts in the last seconds"}


def test_one_passthrough_stream_keeps_up(tmp_path: Path) -> None:
    argv = [
        "--capacity",
        "--seconds",
        "12",
        "--modes",
        "passthrough",
        "--max-streams",
        "1",
        "--size",
        "640x360",
    ]
    assert main(argv, tmp_path) == 0
    report = json.loads((tmp_path / "live-capacity.json").read_text())
    assert (tmp_path / "live-capacity.png").read_bytes()[:4] == b"\x89PNG"
    assert report["source"].startswith("640x360 30 fps H.264") and "ladder" not in report
    (trial,) = report["passthrough"]["trials"]
    assert report["passthrough"]["max_streams"] == 1 and trial["kept_up"], trial
    stream = trial["per_stream"]["s0"]
    assert list(stream["renditions"]) == ["index.m3u8"] and stream["dropped_frames"] == 0
    assert 0 < trial["ingest_cores"] < 1
