"""The live ladder end to end: ffmpeg publishes 640x480 over RTMP to the platform's ingest; over
HTTP the master lists the source and the 360p rung, the rung answers blocking reloads and held
parts like the source, and a player without LL-HLS (FFmpeg's HLS demuxer) plays both."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable

import av
import httpx
import m3u8
import pytest
from support.platform import Platform, live_server
from support.publishers import ULTRAFAST, Publishers
from support.waiting import wait_until

from workers.live import RtmpThread

SECONDS = 8


@pytest.fixture
def publish(ingest: RtmpThread, ffmpeg_publishers: Publishers) -> Callable[[str], subprocess.Popen[bytes]]:
    def start(key: str) -> subprocess.Popen[bytes]:
        url = f"rtmp://127.0.0.1:{ingest.port}/live/{key}"
        return ffmpeg_publishers.test_pattern(url, seconds=SECONDS, size="640x480", video=ULTRAFAST)

    return start


def play_regular_hls(url: str, frames: dict[int, int], errors: list[BaseException]) -> None:
    """Decode every picture of every variant of ``url`` as FFmpeg's HLS demuxer sees it."""
    try:
        with av.open(url, options={"live_start_index": "0"}, timeout=20) as container:
            for frame in container.decode(*container.streams.video):
                assert isinstance(frame, av.VideoFrame)
                frames[frame.height] = frames.get(frame.height, 0) + 1
    except BaseException as exc:  # reported to the test's thread
        errors.append(exc)


def test_ladder_over_http_with_ll_hls_and_a_regular_hls_player(
    platform: Platform, ingest: RtmpThread, publish: Callable[[str], subprocess.Popen[bytes]]
) -> None:
    alice = platform.user("alice")
    body = platform.client.post("/api/v1/live/streams", json={"title": "ladder"}, headers=alice).json()
    stream_id = body["id"]
    proc = publish(body["stream_key"])
    with live_server(platform) as base, httpx.Client(base_url=base, timeout=15) as http:
        hls = body["playback"]["hls"].replace("http://127.0.0.1:8000", base)
        assert wait_until(lambda: http.get(hls).status_code == 200, 15)
        sink = ingest.ingest.sinks.sinks[stream_id]  # to see, at the end, what the ladder dropped
        master = m3u8.loads(http.get(hls).text)
        assert [(p.uri, p.stream_info.resolution) for p in master.playlists] == [
            ("index.m3u8", (640, 480)),
            ("360p.m3u8", (480, 360)),
        ]
        frames: dict[int, int] = {}
        errors: list[BaseException] = []
        player = threading.Thread(target=play_regular_hls, args=(hls, frames, errors), daemon=True)
        player.start()

        rung = f"/live/{stream_id}/hls/360p.m3u8"
        live = m3u8.loads(http.get(rung).text)
        assert not live.is_endlist and live.server_control.can_block_reload == "YES"
        assert live.segment_map[0].uri == "360p-init.mp4"
        hint = live.preload_hint.uri
        assert hint.startswith("360p-part")
        started = time.monotonic()
        part = http.get(f"/live/{stream_id}/hls/{hint}")  # held until the rung writes it
        assert part.status_code == 200 and part.content[4:8] == b"moof"
        assert time.monotonic() - started < 6.0
        msn, index = (int(x) for x in hint.removeprefix("360p-part").removesuffix(".m4s").split("."))
        blocked = http.get(rung, params={"_HLS_msn": msn, "_HLS_part": index + 1})
        assert blocked.status_code == 200
        listed = [p.uri for s in m3u8.loads(blocked.text).segments for p in s.parts]
        assert f"360p-part{msn}.{index + 1}.m4s" in listed or "#EXT-X-ENDLIST" in blocked.text

        assert proc.wait(30) == 0
        player.join(30)
        assert not player.is_alive() and not errors, errors
        assert set(frames) == {480, 360}
        assert sink.ladder is not None
        assert frames[480] >= (SECONDS - 2) * 25
        assert frames[480] - sink.ladder.dropped <= frames[360] <= frames[480]  # all, on an idle machine

        ended = {
            n: m3u8.loads(http.get(f"/live/{stream_id}/hls/{n}").text) for n in ("index.m3u8", "360p.m3u8")
        }
        assert all(p.is_endlist for p in ended.values())
        shapes = {
            n: [(s.uri.rsplit("-", 1)[-1], round(s.duration, 3)) for s in p.segments]
            for n, p in ended.items()
        }
        assert [u for u, _ in shapes["index.m3u8"]] == [u for u, _ in shapes["360p.m3u8"]]
        if sink.ladder.dropped == 0:
            assert shapes["index.m3u8"] == shapes["360p.m3u8"]
        else:  # a rung that fell behind skipped to the next keyframe: its segments are only shorter
            pairs = zip(shapes["index.m3u8"], shapes["360p.m3u8"], strict=True)
            assert all(rung <= source + 1e-3 for (_, source), (_, rung) in pairs), shapes
        assert sum(d for _, d in shapes["index.m3u8"]) == pytest.approx(SECONDS, abs=0.1)
