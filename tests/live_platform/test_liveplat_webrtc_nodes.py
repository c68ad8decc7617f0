"""The WebRTC pieces below the routes: a WHEP relay's limits and codecs, the H.264 forms, and a
``WebRtcNode`` answering an offer sent by another process's pub/sub client over real Redis."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator
from fractions import Fraction
from pathlib import Path

import av
import imageio_ffmpeg
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamError

from control_plane.core.pubsub import RedisPubSub
from control_plane.live.signalling import ask
from control_plane.live.webrtc_errors import MediaUnreachable, SessionNotFound
from pipelines.errors import BadBitstream
from pipelines.frames import AudioFrame, VideoFrame
from pipelines.h264 import avcc_record, length_prefixed, parse_avcc, split_annexb, to_annexb
from pipelines.sinks import MediaSink, StreamGrant
from pipelines.webrtc import BadOffer, RelayLimits, SessionLimit, UnsupportedSource, WhepRelay
from pipelines.webrtc import SessionNotFound as NoViewer
from pipelines.webrtc.feeds import VideoFeed
from pipelines.webrtc.whip import WhipReceiver, WhipSettings
from workers.live import WebRtcNode


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 s of 320x240 25 fps H.264 (1 s GOP) and AAC, in MP4 (length-prefixed NAL units, as RTMP)."""
    path = Path(tmp_path_factory.mktemp("webrtc")) / "clip.mp4"
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
            "-f", "lavfi", "-i", "sine=sample_rate=48000", "-t", "3",
            "-c:v", "libx264", "-preset", "superfast", "-g", "25", "-bf", "0", "-c:a", "aac", str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


async def play(clip: Path, sink: MediaSink) -> None:
    """Hand the clip's frames to ``sink`` in real time, as an RTMP session would."""
    loop = asyncio.get_running_loop()
    with av.open(str(clip)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        await sink.on_video(VideoFrame(0, 0, True, "h264", bytes(video.codec_context.extradata or b""), True))
        await sink.on_audio(AudioFrame(0, "aac", bytes(audio.codec_context.extradata or b""), True))
        start = loop.time()
        for packet in container.demux():
            if packet.size == 0 or packet.pts is None or packet.dts is None:
                continue
            tb: Fraction = packet.time_base
            ms = int(packet.dts * tb * 1000)
            await asyncio.sleep(max(0.0, start + ms / 1000 - loop.time()))
            if packet.stream.type == "video":
                cts = int((packet.pts - packet.dts) * tb * 1000)
                await sink.on_video(VideoFrame(ms, cts, packet.is_keyframe, "h264", bytes(packet), False))
            else:
                await sink.on_audio(AudioFrame(ms, "aac", bytes(packet), False))


async def offer(pc: RTCPeerConnection, *, vp8_only: bool = False) -> str:
    video = pc.addTransceiver("video", direction="recvonly")
    if vp8_only:
        codecs = RTCRtpSender.getCapabilities("video").codecs
        video.setCodecPreferences([c for c in codecs if c.mimeType == "video/VP8"])
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    return str(pc.localDescription.sdp)


async def decoded(pc: RTCPeerConnection) -> AsyncIterator[av.VideoFrame]:
    track = next(t.receiver.track for t in pc.getTransceivers() if t.kind == "video")
    try:
        while True:
            frame = await track.recv()
            assert isinstance(frame, av.VideoFrame)
            yield frame
    except MediaStreamError:
        return


def peer() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


def test_node_answers_an_offer_sent_over_redis_by_another_client(redis_url: str, clip: Path) -> None:
    node = WebRtcNode(RedisPubSub(redis_url)).start()
    api = RedisPubSub(redis_url)  # another API process's client
    stream_id = f"s-{uuid.uuid4().hex[:8]}"
    sink = node(StreamGrant(stream_id))

    async def go() -> list[av.VideoFrame]:
        pc = peer()
        await sink.on_video(VideoFrame(0, 0, True, "h264", b"", False))  # registers the relay; ignored
        await asyncio.sleep(0.1)
        reply = await ask(api, "whep_offer", stream_id, timeout_s=10, sdp=await offer(pc))
        await pc.setRemoteDescription(RTCSessionDescription(reply.sdp, "answer"))
        frames: list[av.VideoFrame] = []

        async def collect() -> None:
            async for frame in decoded(pc):
                frames.append(frame)

        collecting = asyncio.ensure_future(collect())
        await play(clip, sink)
        await asyncio.sleep(0.3)
        await ask(api, "whep_delete", stream_id, timeout_s=5, session=reply.session)
        with pytest.raises(SessionNotFound):
            await ask(api, "whep_delete", stream_id, timeout_s=5, session=reply.session)
        with pytest.raises(MediaUnreachable):
            await ask(api, "whep_offer", "nobody-holds-this", timeout_s=0.5, sdp="v=0")
        await pc.close()
        await asyncio.wait_for(collecting, 5)
        await sink.on_close()
        return frames

    try:
        frames = asyncio.run(go())
    finally:
        node.stop()
        api.close()
    # 75 frames sent; the viewer joined at the first keyframe, so it decodes nearly all of them.
    assert len(frames) >= 60 and {(f.width, f.height) for f in frames} == {(320, 240)}
    assert not node.relays


def test_relay_bounds_viewers_and_refuses_offers_without_h264(clip: Path) -> None:
    async def go() -> None:
        relay = WhepRelay("s1", RelayLimits(max_viewers=1))
        first, second, vp8 = peer(), peer(), peer()
        with pytest.raises(BadOffer):
            await relay.open_viewer(await offer(vp8, vp8_only=True))
        viewer_id, answer = await relay.open_viewer(await offer(first))
        assert "H264" in answer and "a=sendonly" in answer and "candidate" in answer
        with pytest.raises(SessionLimit):
            await relay.open_viewer(await offer(second))
        for bad in ("hello", "v=0\r\n", "v=0\r\n" + "a=x\r\n" * 8000):
            with pytest.raises(BadOffer):
                await relay.open_viewer(bad)
        with pytest.raises(NoViewer):
            await relay.close_viewer("nope")
        await relay.on_close()
        assert not relay.viewers
        with pytest.raises(NoViewer):
            await relay.open_viewer(await offer(peer()))
        for pc in (first, second, vp8):
            await pc.close()
        hevc = WhepRelay("s2")
        await hevc.on_video(VideoFrame(0, 0, True, "h264", b"\x00junk", True))  # unreadable: skipped
        await hevc.on_video(VideoFrame(0, 0, True, "hevc", b"\x01", True))
        with pytest.raises(UnsupportedSource):
            await hevc.open_viewer(await offer(peer()))

    asyncio.run(go())


def test_h264_forms_and_a_feed_that_falls_behind() -> None:
    sps, pps = bytes.fromhex("6742c01eda0507e8"), bytes.fromhex("68ce0fc8")
    config = parse_avcc(avcc_record([sps, pps]))
    assert (config.length_size, config.sps, config.pps) == (4, (sps,), (pps,))
    nals = [sps, pps, b"\x65\x88\x80\x00\x01", b"\x06\x05\x80"]  # a NAL unit never ends in 0x00
    annexb = to_annexb(length_prefixed(nals, keep_parameter_sets=True))
    assert list(split_annexb(annexb)) == nals
    assert list(split_annexb(b"\x00\x00\x01\x09\xf0\x00\x00\x01\x41\x9a")) == [b"\x09\xf0", b"\x41\x9a"]
    for broken in (b"", b"\x02" + bytes(10), avcc_record([sps, pps])[:9]):
        with pytest.raises(BadBitstream):
            parse_avcc(broken)
    with pytest.raises(BadBitstream):
        to_annexb(b"\x00\x00\x00\x09abc")

    async def go() -> None:
        feed = VideoFeed(limit=3)
        packets = [av.Packet(bytes([i])) for i in range(8)]
        feed.push(packets[0], keyframe=False)  # a new viewer waits for a keyframe
        feed.push(packets[1], keyframe=True)
        feed.push(packets[2], keyframe=False)
        feed.push(packets[3], keyframe=False)
        feed.push(packets[4], keyframe=False)  # 3 queued: the backlog is dropped, wait for a keyframe
        feed.push(packets[5], keyframe=True)
        feed.push(packets[6], keyframe=False)
        assert [bytes(await feed.recv()) for _ in range(2)] == [b"\x05", b"\x06"]
        feed.end()
        with pytest.raises(MediaStreamError):
            await feed.recv()

    asyncio.run(go())


class Frames:
    """A ``MediaSink`` that keeps what it is given."""

    def __init__(self) -> None:
        self.video: list[VideoFrame] = []
        self.audio: list[AudioFrame] = []
        self.closed = 0

    async def on_metadata(self, metadata: dict[str, object]) -> None:
        return None

    async def on_video(self, frame: VideoFrame) -> None:
        self.video.append(frame)

    async def on_audio(self, frame: AudioFrame) -> None:
        self.audio.append(frame)

    async def on_close(self) -> None:
        self.closed += 1


def test_whip_receiver_ends_a_session_that_never_connects() -> None:
    async def go() -> Frames:
        sink, ended = Frames(), list[bool]()
        receiver = WhipReceiver(sink, WhipSettings(connect_timeout_s=0.3), on_end=lambda: _note(ended))
        publisher = peer()
        publisher.addTransceiver("video", direction="sendonly")
        await publisher.setLocalDescription(await publisher.createOffer())
        answer = await receiver.open(publisher.localDescription.sdp)
        assert "a=recvonly" in answer
        await asyncio.wait_for(receiver.ended.wait(), 5)  # the answer is never applied: no ICE
        await receiver.close()  # a second close is a no-op
        await publisher.close()
        assert ended == [True]
        return sink

    sink = asyncio.run(go())
    assert sink.closed == 1 and not sink.video


async def _note(into: list[bool]) -> None:
    into.append(True)


def test_whip_receiver_takes_h264_as_obs_sends_it_and_hands_over_decodable_frames(clip: Path) -> None:
    async def go() -> tuple[Frames, dict[str, int]]:
        sink, live = Frames(), list[bool]()
        receiver = WhipReceiver(sink, WhipSettings(keyframe_ms=500), on_media=lambda: _note(live))
        player = MediaPlayer(str(clip))
        assert player.video is not None and player.audio is not None
        publisher = peer()
        video = publisher.addTransceiver(player.video, direction="sendonly")
        h264 = [c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType == "video/H264"]
        video.setCodecPreferences(h264)
        publisher.addTransceiver(player.audio, direction="sendonly")
        await publisher.setLocalDescription(await publisher.createOffer())
        answer = await receiver.open(publisher.localDescription.sdp)
        assert "H264/90000" in answer and "VP8" not in answer
        await publisher.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        await asyncio.sleep(2.0)
        await publisher.close()
        await asyncio.wait_for(receiver.ended.wait(), 10)
        assert live == [True]
        return sink, receiver.frames

    sink, received = asyncio.run(go())
    assert received["video"] >= 25 and received["audio"] >= 50
    config, *frames = sink.video
    assert config.is_config and config.codec == "h264" and not any(f.is_config for f in frames)
    assert sum(f.keyframe for f in frames) >= 2  # an IDR every 0.5 s
    times = [f.ts_ms for f in frames]
    assert times == sorted(times) and len(set(times)) == len(times)
    decoder = av.CodecContext.create("h264", "r")
    decoder.extradata = config.data
    pictures = [p for f in frames for p in decoder.decode(av.Packet(f.data))]
    assert len(pictures) >= len(frames) - 2 and (pictures[0].width, pictures[0].height) == (320, 240)
    assert sink.audio[0].is_config and len(sink.audio) > 50 and sink.closed == 1
