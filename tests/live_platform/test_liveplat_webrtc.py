"""WebRTC on the embedded platform, end to end with aiortc clients over real HTTP: an RTMP stream
published by ffmpeg plays over WHEP; a WHIP publish goes live, gets LL-HLS parts that decode and
plays over WHEP; and the errors of both."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import av
import httpx
import m3u8
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaPlayer
from support.platform import Platform, live_server, production
from support.publishers import Publishers
from support.waiting import wait_until
from support.webrtc import Received

from control_plane.live import StreamLeases, StreamService
from workers.live import RtmpThread

SDP = {"Content-Type": "application/sdp"}
RECONNECT_WINDOW_S = 0.5  # seconds: sessions end soon after a publisher leaves


@pytest.fixture
def ffmpeg(ffmpeg_publishers: Publishers) -> Callable[..., subprocess.Popen[bytes]]:
    return ffmpeg_publishers.ffmpeg


def source(seconds: float) -> list[str]:
    """320x240 25 fps test pattern with a tone, H.264 (1 s GOP, no B-frames) and AAC."""
    return [
        "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        "-t", str(seconds), "-c:v", "libx264", "-preset", "superfast", "-g", "25", "-bf", "0",
        "-threads", "1", "-c:a", "aac",
    ]  # fmt: skip


def create(platform: Platform, headers: dict[str, str]) -> dict:
    r = platform.client.post("/api/v1/live/streams", json={"title": "show"}, headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


def status(platform: Platform, stream_id: str, headers: dict[str, str]) -> dict:
    return dict(platform.client.get(f"/api/v1/live/streams/{stream_id}", headers=headers).json())


def peer() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


async def watch(
    base: str, stream_id: str, seconds: float, during: Callable[[], object] | None = None
) -> tuple[list[av.VideoFrame], int, str]:
    """WHEP-play for ``seconds``: the decoded video frames, the audio frame count, the session URL.
    ``during`` is called on a worker thread once the viewer has played for half that time."""
    pc = peer()
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    received = Received(pc)
    await pc.setLocalDescription(await pc.createOffer())
    async with httpx.AsyncClient(base_url=base, timeout=20) as http:
        r = await http.post(f"/live/{stream_id}/whep", content=pc.localDescription.sdp, headers=SDP)
        assert r.status_code == 201, r.text
        assert r.headers["content-type"] == "application/sdp"
        location = r.headers["location"]
        assert location.startswith(f"/live/{stream_id}/whep/")
        await pc.setRemoteDescription(RTCSessionDescription(r.text, "answer"))
        await asyncio.sleep(seconds / 2)
        if during is not None:
            await asyncio.to_thread(during)
        await asyncio.sleep(seconds / 2)
        assert (
            await http.patch(
                location,
                content="a=end-of-candidates",
                headers={"Content-Type": "application/trickle-ice-sdpfrag"},
            )
        ).status_code == 405
        deleted = await http.delete(location)
        assert deleted.status_code == 200, deleted.text
        again = await http.delete(location)
        assert again.status_code == 404 and again.json()["code"] == "WEBRTC_SESSION_NOT_FOUND"
    await pc.close()
    await received.ended()
    return received.video, received.audio, location


def test_rtmp_stream_plays_over_whep(
    platform: Platform, ingest: RtmpThread, ffmpeg: Callable[..., subprocess.Popen[bytes]]
) -> None:
    alice = platform.user("alice")
    body = create(platform, alice)
    stream_id = body["id"]
    publisher = ffmpeg(
        "-re", *source(6), "-f", "flv", f"rtmp://127.0.0.1:{ingest.port}/live/{body['stream_key']}"
    )
    with live_server(platform) as base:
        assert wait_until(lambda: status(platform, stream_id, alice)["status"] == "live", 10)

        def counted() -> None:  # WHEP viewers count among the stream's viewers
            assert status(platform, stream_id, alice)["viewers"] == 1

        frames, audio, _ = asyncio.run(watch(base, stream_id, 3.0, counted))
    # 3 s at 25 fps, joined at the next keyframe (1 s GOP): at least 1.5 s of pictures decoded.
    assert len(frames) >= 38, len(frames)
    assert {(f.width, f.height) for f in frames} == {(320, 240)}
    assert audio >= 50  # 20 ms Opus frames
    assert publisher.wait(20) == 0
    assert wait_until(lambda: status(platform, stream_id, alice)["status"] == "ended", 10)


def hls_part_frames(base: str, stream_id: str) -> list[av.VideoFrame]:
    """Decode the init segment and the first part listed in the live playlist."""
    with httpx.Client(base_url=base, timeout=20) as http:
        playlist = m3u8.loads(http.get(f"/live/{stream_id}/hls/index.m3u8").text)
        part = playlist.segments[0].parts[0].uri if playlist.segments else playlist.preload_hint.uri
        data = http.get(f"/live/{stream_id}/hls/{playlist.segment_map[0].uri}").content
        data += http.get(f"/live/{stream_id}/hls/{part}").content
    with av.open(io.BytesIO(data), mode="r") as container:
        return list(container.decode(video=0))


def test_whip_publish_goes_live_with_hls_whep_and_a_recording(
    platform: Platform, ffmpeg: Callable[..., subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    body = create(platform, alice)
    stream_id, key = body["id"], body["stream_key"]
    whip = f"/api/v1/live/streams/{stream_id}/whip"
    assert body["whip_url"].endswith(whip)
    clip = tmp_path / "clip.mp4"
    assert ffmpeg("-y", *source(6), str(clip)).wait(30) == 0

    async def publish(base: str) -> tuple[tuple[list[av.VideoFrame], int, str], list[av.VideoFrame]]:
        player = MediaPlayer(str(clip))
        assert player.video is not None and player.audio is not None
        pc = peer()
        pc.addTransceiver(player.video, direction="sendonly")
        pc.addTransceiver(player.audio, direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        offer = pc.localDescription.sdp
        async with httpx.AsyncClient(base_url=base, timeout=20) as http:
            for headers, code in (
                ({}, "UNAUTHORIZED"),
                ({"Authorization": f"Bearer sk_{'x' * 43}"}, "LIVE_STREAM_KEY_INVALID"),
                (bob, "LIVE_STREAM_NOT_FOUND"),
            ):
                r = await http.post(whip, content=offer, headers={**SDP, **headers})
                assert r.json()["code"] == code, r.text
            r = await http.post(whip, content=offer, headers={**SDP, **alice})
            assert r.status_code == 201, r.text
            assert r.headers["content-type"] == "application/sdp"
            location = r.headers["location"]
            assert location.startswith(f"{whip}/")
            await pc.setRemoteDescription(RTCSessionDescription(r.text, "answer"))

            async def live() -> bool:
                r = await http.get(f"/api/v1/live/streams/{stream_id}", headers=alice)
                return bool(r.json()["status"] == "live")

            deadline = time.monotonic() + 10
            while not await live():
                assert time.monotonic() < deadline, "the WHIP stream never went live"
                await asyncio.sleep(0.05)
            # The stream key as Bearer token (as OBS sends it) is admitted; the stream is live already.
            r = await http.post(whip, content=offer, headers={**SDP, "Authorization": f"Bearer {key}"})
            assert r.status_code == 409 and r.json()["code"] == "LIVE_STREAM_ALREADY_LIVE", r.text

            whep = await watch(base, stream_id, 2.5)
            hls = await asyncio.to_thread(hls_part_frames, base, stream_id)
            r = await http.patch(location, headers=alice)
            assert r.status_code == 405 and r.json()["code"] == "WEBRTC_TRICKLE_NOT_SUPPORTED"
            r = await http.delete(location, headers=alice)
            assert r.status_code == 200, r.text
            r = await http.delete(location, headers=alice)
            assert r.status_code == 404 and r.json()["code"] == "WEBRTC_SESSION_NOT_FOUND"
        await pc.close()
        return whep, hls

    with live_server(platform) as base:
        (frames, audio, _), hls = asyncio.run(publish(base))
    assert len(frames) >= 25 and {(f.width, f.height) for f in frames} == {(320, 240)}
    assert audio >= 50
    assert len(hls) >= 5 and (hls[0].width, hls[0].height) == (320, 240)
    assert wait_until(lambda: status(platform, stream_id, alice)["recording_video_id"], 15)
    final = status(platform, stream_id, alice)
    assert final["status"] == "ended"
    assert [e["state"] for e in final["events"]] == ["connected", "live", "idle"]


def test_whep_and_whip_errors(platform: Platform) -> None:
    alice = platform.user("alice")
    body = create(platform, alice)
    stream_id = body["id"]

    async def offer() -> str:
        pc = peer()
        pc.addTransceiver("video", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
        await pc.close()
        return str(sdp)

    valid = asyncio.run(offer())
    client = platform.client

    def refused(cases: list[tuple[str, str, dict[str, str], int, str]]) -> None:
        for path, content, headers, code, problem in cases:
            r = client.post(path, content=content, headers=headers)
            assert (r.status_code, r.json()["code"]) == (code, problem), (path, r.text)
            assert r.headers["content-type"] == "application/problem+json"

    # The stream is checked before the offer: missing is 404, not live 409, whatever the body.
    refused(
        [
            (f"/live/{stream_id}/whep", valid, SDP, 409, "LIVE_STREAM_NOT_LIVE"),
            (f"/live/{stream_id}/whep", "hello", SDP, 409, "LIVE_STREAM_NOT_LIVE"),
            ("/live/nope/whep", "hello", SDP, 404, "LIVE_STREAM_NOT_FOUND"),
            (f"/live/{stream_id}/whep", valid, {"Content-Type": "text/plain"}, 415, "WEBRTC_NOT_SDP"),
            (f"/api/v1/live/streams/{stream_id}/whip", "hello", {**SDP, **alice}, 400, "WEBRTC_BAD_OFFER"),
        ]
    )
    r = client.delete(f"/live/{stream_id}/whep/abc")
    assert r.status_code == 404 and r.json()["code"] == "WEBRTC_SESSION_NOT_FOUND"
    r = client.delete(f"/api/v1/live/streams/{stream_id}/whip/abc", headers=alice)
    assert r.status_code == 404 and r.json()["code"] == "WEBRTC_SESSION_NOT_FOUND"
    # A publisher connected elsewhere (RTMP, not live yet) holds the stream's lease: WHIP waits.
    leases = StreamLeases(platform.services.kv)
    assert not leases.hold(stream_id)
    r = client.post(f"/api/v1/live/streams/{stream_id}/whip", content=valid, headers={**SDP, **alice})
    assert r.status_code == 409 and r.json()["code"] == "LIVE_STREAM_ALREADY_LIVE"
    leases.release(stream_id)
    r = client.options(f"/live/{stream_id}/whep")
    assert r.status_code == 204 and "POST" in r.headers["access-control-allow-methods"]
    # Live, a viewer's offer is read: one that is not SDP, or too long, is refused before any peer.
    StreamService(platform.services.db).record_state(stream_id, "live")
    refused(
        [
            (f"/live/{stream_id}/whep", "v=0\r\n", SDP, 400, "WEBRTC_BAD_OFFER"),
            (f"/live/{stream_id}/whep", "v=0\r\n" + "a=x\r\n" * 8000, SDP, 413, "WEBRTC_OFFER_TOO_LARGE"),
        ]
    )
    # Offers are bounded per client address: 30 a minute (6 were sent above).
    codes = [client.post(f"/live/{stream_id}/whep", content="x", headers=SDP).status_code for _ in range(25)]
    assert codes == [400] * 24 + [429]
    r = client.post(f"/live/{stream_id}/whep", content=valid, headers=SDP)
    assert r.status_code == 429 and r.json()["code"] == "RATE_LIMITED" and int(r.headers["retry-after"]) > 0


def test_production_whep_offer_reaches_the_separate_rtmp_process_over_redis(
    tmp_path: Path,
    postgres_url: str,
    redis_url: str,
    platform_factory: Callable[..., Platform],
    ffmpeg: Callable[..., subprocess.Popen[bytes]],
) -> None:
    """``socialflow rtmp`` holds the media in its own process; the API process that gets the
    WHEP offer holds nothing and forwards it over Redis pub/sub."""
    settings = production(
        tmp_path,
        database_url=postgres_url,
        broker_url=redis_url.rsplit("/", 1)[0] + "/3",
        storage_url=f"file://{tmp_path / 'blobs'}",
        redis_url=redis_url,
    )
    platform = platform_factory(settings, inprocess_workers=False)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALFLOW_")}
    for name in ("data_dir", "database_url", "broker_url", "redis_url", "storage_url", "secret_key"):
        env[f"SOCIALFLOW_{name.upper()}"] = str(getattr(settings, name))
    command = [
        str(Path(sys.executable).with_name("socialflow")),
        "rtmp",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    ingest = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:

        def listening() -> bool:
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", port)) == 0

        assert wait_until(listening, 20), "socialflow rtmp did not start"
        alice = platform.user("alice")
        body = create(platform, alice)
        ffmpeg("-re", *source(5), "-f", "flv", f"rtmp://127.0.0.1:{port}/live/{body['stream_key']}")
        with live_server(platform) as base:
            assert wait_until(lambda: status(platform, body["id"], alice)["status"] == "live", 10)
            frames, _, _ = asyncio.run(watch(base, body["id"], 2.5))
        assert len(frames) >= 25 and {(f.width, f.height) for f in frames} == {(320, 240)}
    finally:
        os.killpg(ingest.pid, signal.SIGTERM)
        output = ingest.communicate(timeout=30)[0].decode(errors="replace")
    assert ingest.returncode == 0, output[-3000:]
