"""Encoders that turn decoded WebRTC media into the frames an RTMP publisher would have sent:
H.264 (length-prefixed NAL units plus an ``avcC`` record) and AAC (plus its AudioSpecificConfig).

Each encoder is fed one track's decoded frames, already stamped with times in milliseconds, and
must be used from one thread at a time (the WHIP receiver runs each on a worker thread).
"""

from __future__ import annotations

from fractions import Fraction

import av
from av.audio.codeccontext import AudioCodecContext
from av.video.codeccontext import VideoCodecContext

from pipelines.errors import BadBitstream
from pipelines.frames import AudioFrame, VideoFrame
from pipelines.h264 import avcc_record, length_prefixed, split_annexb

__all__ = ["H264Encoder", "AacEncoder"]

MS = Fraction(1, 1000)
AAC_RATE = 48_000


class H264Encoder:
    """libx264 at low latency (no B-frames, no lookahead), an IDR every ``keyframe_ms``.

    The first frame fixes the size; later frames of another size (WebRTC senders adapt their
    resolution to the bandwidth) are scaled to it, since a live rendition keeps one size.
    """

    def __init__(self, keyframe_ms: int = 1000, bit_rate: int = 2_500_000, preset: str = "veryfast") -> None:
        self.keyframe_ms = keyframe_ms
        self.bit_rate = bit_rate
        self.preset = preset
        self._codec: VideoCodecContext | None = None
        self._config: bytes | None = None
        self._last_key_ms: int | None = None
        self._last_ms = -1

    def encode(self, frame: av.VideoFrame, ts_ms: int) -> list[VideoFrame]:
        """Encode one decoded frame shown at ``ts_ms``; returns the config record (once) and frames."""
        codec = self._codec or self._open(frame.width, frame.height)
        ts_ms = max(ts_ms, self._last_ms + 1)
        self._last_ms = ts_ms
        picture = frame
        if (frame.width, frame.height) != (codec.width, codec.height) or frame.format.name != "yuv420p":
            picture = frame.reformat(width=codec.width, height=codec.height, format="yuv420p")
        picture.pts, picture.time_base = ts_ms, MS
        force = self._last_key_ms is None or ts_ms - self._last_key_ms >= self.keyframe_ms
        picture.pict_type = av.video.frame.PictureType.I if force else av.video.frame.PictureType.NONE
        if force:
            self._last_key_ms = ts_ms
        return self._frames(codec.encode(picture))

    def flush(self) -> list[VideoFrame]:
        return self._frames(self._codec.encode(None)) if self._codec is not None else []

    def _open(self, width: int, height: int) -> VideoCodecContext:
        codec = av.CodecContext.create("libx264", "w")
        assert isinstance(codec, VideoCodecContext)
        codec.width, codec.height = width - width % 2, height - height % 2
        codec.pix_fmt = "yuv420p"
        codec.time_base = MS
        codec.bit_rate = self.bit_rate
        codec.gop_size = 10**6  # keyframes come from ``keyframe_ms`` only
        codec.options = {"preset": self.preset, "tune": "zerolatency", "forced-idr": "1", "threads": "1"}
        self._codec = codec
        return codec

    def _frames(self, packets: list[av.Packet]) -> list[VideoFrame]:
        out: list[VideoFrame] = []
        for packet in packets:
            nals = split_annexb(bytes(packet))
            if self._config is None:
                try:
                    self._config = avcc_record(nals)
                except BadBitstream:
                    continue  # cannot happen with libx264: its first packet carries both
                out.append(VideoFrame(0, 0, True, "h264", self._config, True))
            body = length_prefixed(nals)  # SPS, PPS and delimiters travel in the avcC record
            assert packet.pts is not None and packet.dts is not None
            out.append(
                VideoFrame(packet.dts, packet.pts - packet.dts, packet.is_keyframe, "h264", body, False)
            )
        return out


class AacEncoder:
    """FFmpeg's AAC-LC encoder, 48 kHz stereo; ``config`` is ready before the first frame."""

    def __init__(self, bit_rate: int = 128_000) -> None:
        codec = av.CodecContext.create("aac", "w")
        assert isinstance(codec, AudioCodecContext)
        codec.sample_rate, codec.format, codec.layout = AAC_RATE, "fltp", "stereo"
        codec.bit_rate = bit_rate
        codec.time_base = Fraction(1, AAC_RATE)
        codec.open()
        self._codec = codec
        self._resampler = av.AudioResampler(
            format="fltp", layout="stereo", rate=AAC_RATE, frame_size=codec.frame_size
        )
        self._next: int | None = None

    @property
    def config(self) -> AudioFrame:
        return AudioFrame(0, "aac", bytes(self._codec.extradata or b""), True)

    def encode(self, frame: av.AudioFrame, ts_ms: int) -> list[AudioFrame]:
        """Encode decoded samples that start at ``ts_ms``; timestamps then follow the sample count."""
        if self._next is None:
            self._next = ts_ms * AAC_RATE // 1000
        frame.pts = None
        packets: list[av.Packet] = []
        for chunk in self._resampler.resample(frame):
            chunk.pts, chunk.time_base = self._next, Fraction(1, AAC_RATE)
            self._next += chunk.samples
            packets.extend(self._codec.encode(chunk))
        return self._frames(packets)

    def flush(self) -> list[AudioFrame]:
        return self._frames(self._codec.encode(None))

    def _frames(self, packets: list[av.Packet]) -> list[AudioFrame]:
        return [
            AudioFrame(max(0, p.pts * 1000 // AAC_RATE), "aac", bytes(p), False)
            for p in packets
            if p.pts is not None
        ]
