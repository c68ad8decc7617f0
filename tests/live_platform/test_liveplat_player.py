"""A real player: hls.js (pinned in ``benchmarks/player``) in Debian's Chromium, on a page of
another origin opened before the stream is live, plays our LL-HLS from the first segment on.

It waits through "not live yet" (503 with ``Retry-After``, CORS on every answer), then plays
audio and video without the stall and the part re-request loop that a part whose audio ended
short of its video caused (issue #21); shaka-player, beside it, starts from the first segment
too (it failed to load our playlists until three segments were listed). Needs node,
``/usr/bin/chromium`` and ``npm ci`` in ``benchmarks/player`` (``.ci/run`` installs them): skips
without them, fails in CI.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support.platform import Platform, live_server
from support.services import service_missing

from benchmarks._live_player import CHROMIUM, PLAYER_DIR, watch_in_players
from workers.live import RtmpThread

SECONDS = 8.0


@pytest.fixture
def players() -> None:
    modules = PLAYER_DIR / "node_modules"
    if shutil.which("node") is None or not CHROMIUM.exists():
        service_missing("node and Debian's Chromium")
    if not all(
        (modules / name / "package.json").exists() for name in ("hls.js", "shaka-player", "playwright-core")
    ):
        service_missing("the bench players (npm ci in benchmarks/player)")


@pytest.mark.slow
def test_hlsjs_plays_from_the_first_segment_without_stall_or_repeated_parts(
    players: None, platform: Platform, ingest: RtmpThread, tmp_path: Path
) -> None:
    alice = platform.user("alice")
    body = platform.client.post("/api/v1/live/streams", json={"title": "show"}, headers=alice).json()
    with live_server(platform) as base:
        hls = body["playback"]["hls"].replace("http://127.0.0.1:8000", base)
        viewers = [
            {"name": "start", "client": "hlsjs", "src": hls},
            {"name": "shaka", "client": "shaka", "src": hls},
        ]
        publish = f"rtmp://127.0.0.1:{ingest.port}/live/{body['stream_key']}"
        both = watch_in_players(tmp_path, "ci", publish, viewers, SECONDS, 0.0)
    seen, shaka = both["start"], both["shaka"]
    assert seen["retries_before_live"] >= 1  # opened before the stream: 503, then retried
    assert seen["frames_read"] >= SECONDS * 25 / 2, seen  # pictures painted by the publisher, read back
    assert seen["first_frame_s"] is not None and seen["first_frame_s"] < 6.0, seen
    assert seen["max_requests_of_one_file"] <= 2, seen  # no part re-requested in a loop
    assert seen["stalled_s"] < 1.0, seen  # not the 2 s stall at the end of the first segment
    assert not [e for e in seen["errors"] if e.startswith("fatal")], seen
    # shaka-player probed the middle segment listed for captions and threw a TypeError while that
    # was the one being built (CLOSED-CAPTIONS=NONE in the master spares it the probe).
    assert not [line for line in shaka.get("log", []) if "TypeError" in line], shaka
    assert shaka["frames_read"] >= 25, shaka
