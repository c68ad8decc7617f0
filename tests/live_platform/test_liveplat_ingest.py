"""End to end on the embedded platform: ffmpeg publishes over RTMP to the platform's ingest, a
viewer plays LL-HLS over HTTP while live, and the recording becomes a ready video."""

from __future__ import annotations

import secrets
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import m3u8
import pytest
from support.platform import Platform, embedded, live_server, start_platform
from support.publishers import Publishers
from support.waiting import wait_until

from control_plane.live.files import hls_prefix
from workers.live import RtmpThread

SECONDS = 6.0  # long enough to be live through the held plain requests below


@pytest.fixture(params=["local", "s3"])
def platform(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Platform]:
    """The embedded platform, with its blobs on local disk or in an S3 bucket (SeaweedFS): the
    live files are written to and polled from the store either way."""
    if request.param == "local":
        yield from start_platform(embedded(tmp_path))
        return
    bucket: str = request.getfixturevalue("s3_bucket_url")
    yield from start_platform(embedded(tmp_path, storage_url=bucket, secret_key=secrets.token_urlsafe(48)))


@pytest.fixture
def publish(ffmpeg_publishers: Publishers) -> Callable[[str, float], subprocess.Popen[bytes]]:
    """ffmpeg pushing 320x240 25 fps H.264 (2 s GOP) and AAC in real time for ``seconds``."""
    return lambda url, seconds: ffmpeg_publishers.test_pattern(url, seconds=seconds)


def test_wrong_key_is_refused_before_media(
    platform: Platform, ingest: RtmpThread, publish: Callable[[str, float], subprocess.Popen[bytes]]
) -> None:
    alice = platform.user("alice")
    body = platform.client.post("/api/v1/live/streams", json={"title": "show"}, headers=alice).json()
    rotated = platform.client.post(f"/api/v1/live/streams/{body['id']}/rotate-key", headers=alice)
    base = f"rtmp://127.0.0.1:{ingest.port}"
    for url in (f"{base}/live/sk_{'a' * 43}", f"{base}/live/{body['stream_key']}", f"{base}/other/x"):
        proc = publish(url, 2)
        assert proc.wait(20) != 0, url
    assert rotated.status_code == 200
    got = platform.client.get(f"/api/v1/live/streams/{body['id']}", headers=alice).json()
    assert got["status"] == "idle" and got["events"] == []
    assert not list(platform.services.store.list(f"live/{body['id']}/"))


def test_publish_play_live_then_recording_becomes_ready(
    platform: Platform, ingest: RtmpThread, publish: Callable[[str, float], subprocess.Popen[bytes]]
) -> None:
    alice = platform.user("alice")
    body = platform.client.post("/api/v1/live/streams", json={"title": "show"}, headers=alice).json()
    stream_id = body["id"]
    proc = publish(f"rtmp://127.0.0.1:{ingest.port}/live/{body['stream_key']}", SECONDS)

    def status() -> dict:
        return platform.client.get(f"/api/v1/live/streams/{stream_id}", headers=alice).json()

    with (
        live_server(platform) as base,
        httpx.Client(base_url=base, timeout=15, params={"viewer": "v1"}) as http,
    ):
        assert wait_until(lambda: status()["status"] == "live", 10)
        assert stream_id in [s["id"] for s in http.get("/api/v1/live").json()["items"]]  # anyone sees it
        hls = body["playback"]["hls"].replace("http://127.0.0.1:8000", base)

        def master_ready() -> bool:
            return http.get(hls).status_code == 200

        assert wait_until(master_ready, 10)
        master = http.get(hls)
        assert master.headers["content-type"] == "application/vnd.apple.mpegurl"
        variant = m3u8.loads(master.text).playlists[0]
        assert variant.uri == "index.m3u8" and variant.stream_info.resolution == (320, 240)
        media_url = f"/live/{stream_id}/hls/index.m3u8"

        live = m3u8.loads(http.get(media_url, params={"viewer": "v2"}).text)
        # A plain request is answered once the part being built is listed, so that a player
        # tuning in starts PART-HOLD-BACK behind the live edge, not a part further back.
        for _ in range(2):
            stored = platform.services.store.read(f"{hls_prefix(stream_id)}index.m3u8").decode()
            building = m3u8.loads(stored).preload_hint.uri
            fresh = m3u8.loads(http.get(media_url).text)
            assert building in [p.uri for s in fresh.segments for p in s.parts] or fresh.is_endlist
        assert not live.is_endlist and live.server_control.can_block_reload == "YES"
        assert live.preload_hint.hint_type == "PART"
        init = http.get(f"/live/{stream_id}/hls/{live.segment_map[0].uri}")
        assert init.status_code == 200 and init.content[4:8] == b"ftyp"

        # The preload-hinted part does not exist yet: the request is held until it does.
        hint = live.preload_hint.uri
        msn, part = (int(x) for x in hint.removeprefix("part").removesuffix(".m4s").split("."))
        started = time.monotonic()
        held = http.get(f"/live/{stream_id}/hls/{hint}")
        assert held.status_code == 200 and held.content[4:8] in (b"styp", b"moof")
        assert time.monotonic() - started < 3.0

        # A blocking reload for the part after it answers once that part is listed.
        started = time.monotonic()
        blocked = http.get(media_url, params={"_HLS_msn": msn, "_HLS_part": part + 1})
        waited = time.monotonic() - started
        assert blocked.status_code == 200 and waited < 3.0
        reloaded = m3u8.loads(blocked.text)
        listed = [p.uri for s in reloaded.segments for p in s.parts]
        assert hint in listed and (f"part{msn}.{part + 1}.m4s" in listed or reloaded.is_endlist)
        too_far = http.get(media_url, params={"_HLS_msn": msn + 10})
        assert too_far.status_code == 400 and too_far.json()["code"] == "LIVE_BAD_PLAYLIST_REQUEST"
        segment = next(s.uri for s in reloaded.segments if s.uri)
        ranged = http.get(f"/live/{stream_id}/hls/{segment}", headers={"Range": "bytes=0-7"})
        assert ranged.status_code == 206 and len(ranged.content) == 8

        # Two players (v1 made every other request); counted by distinct viewer ids.
        during = status()
        assert during["status"] == "live" and during["viewers"] == 2 and during["started_at"]

        assert proc.wait(30) == 0
        assert wait_until(lambda: status()["status"] == "ended", 10)
        ended = m3u8.loads(http.get(media_url).text)
        assert ended.is_endlist
        assert sum(s.duration for s in ended.segments) == pytest.approx(SECONDS, abs=0.1)

    assert wait_until(lambda: status()["recording_video_id"], 15)
    final = status()
    assert [e["state"] for e in final["events"]] == ["connected", "live", "idle"]
    assert final["viewers"] == 0
    video_id = final["recording_video_id"]

    def video() -> dict:
        return platform.client.get(f"/api/v1/videos/{video_id}", headers=alice).json()

    assert wait_until(lambda: video()["status"] in ("ready", "failed"), 60, step=0.2)
    done = video()
    assert done["status"] == "ready", done
    assert done["owner_id"] == platform.client.get("/api/v1/users/me", headers=alice).json()["id"]
    assert abs(done["duration"] - SECONDS) <= 0.5
    assert done["playback"]["hls"] and done["playback"]["dash"]
    source = platform.client.get(f"/api/v1/videos/{video_id}/source", headers=alice)
    assert source.status_code == 200 and source.content[:3] == b"FLV"
    bob = platform.user("bob")
    assert platform.client.get(f"/api/v1/videos/{video_id}/source", headers=bob).status_code == 404
