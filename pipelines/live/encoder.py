"""``RungEncoder``: one rung of the live ladder, scaled and encoded with libx264 for low latency.

Settings: ``tune=zerolatency`` (no B-frames, no lookahead: a picture in, a packet out), no
scene-cut or periodic keyframes, and a keyframe (IDR) exactly where the caller asks for one, so
the rung's keyframes sit at the source's and every rendition cuts its segments at the same time.
Rate: average ``rung.bitrate`` with a one-second VBV buffer capped at 1.5 times it. Frames come
out as ``pipelines.frames.VideoFrame``s (length-prefixed NAL units, times in milliseconds), ready for
an ``LlHlsPackager``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Final

import av
from av.codec.context import Flags
from av.video.frame import PictureType

from pipelines.frames import VideoFrame
from pipelines.h264 import avcc_record, length_prefixed, split_annexb
from pipelines.live.ladder import LiveRung
from pipelines.scaler import Scaler

__all__ = ["RungEncoder"]

MILLISECONDS: Final = Fraction(1, 1000)


class RungEncoder:
    """Scales decoded source pictures (``pts`` in milliseconds) to ``rung`` and encodes them.

    ``fps`` (frames per second) only guides rate control; timestamps are the source's.
    """

    def __init__(self, rung: LiveRung, fps: Fraction, *, preset: str = "veryfast", threads: int = 1) -> None:
        self.rung = rung
        self.scaler = Scaler(rung.width, rung.height)
        context = av.CodecContext.create("libx264", "w")
        assert isinstance(context, av.VideoCodecContext)
        context.width, context.height, context.pix_fmt = rung.width, rung.height, "yuv420p"
        context.time_base = MILLISECONDS
        context.framerate = fps
        context.bit_rate = rung.bitrate
        context.thread_count = threads
        context.flags |= Flags.global_header  # parameter sets out of band, for the avcC record
        kbps = rung.bitrate // 1000
        context.options = {
            "preset": preset,
            "tune": "zerolatency",
            "forced-idr": "1",
            "x264-params": f"keyint=infinite:scenecut=0:vbv-maxrate={kbps * 3 // 2}:vbv-bufsize={kbps}",
        }
        context.open()
        self._context = context
        #: The AVCDecoderConfigurationRecord of this rung's stream.
        self.config = avcc_record(split_annexb(bytes(context.extradata or b"")))
        self.frames = 0

    def config_frame(self) -> VideoFrame:
        return VideoFrame(0, 0, True, "h264", self.config, True)

    def encode(self, picture: av.VideoFrame, *, keyframe: bool) -> list[VideoFrame]:
        """Encode one source picture; a keyframe when ``keyframe`` (the source's is one)."""
        scaled = self.scaler.scale(picture)
        scaled.pts, scaled.time_base = picture.pts, MILLISECONDS
        scaled.pict_type = PictureType.I if keyframe else PictureType.NONE
        self.frames += 1
        return self._frames(self._context.encode(scaled))

    def flush(self) -> list[VideoFrame]:
        """The packets still held by the encoder (none with zero-latency settings)."""
        return self._frames(self._context.encode(None))

    @staticmethod
    def _frames(packets: list[av.Packet]) -> list[VideoFrame]:
        frames = []
        for packet in packets:
            if packet.dts is None or packet.pts is None:
                continue
            data = length_prefixed(split_annexb(bytes(packet)))
            frames.append(
                VideoFrame(packet.dts, packet.pts - packet.dts, packet.is_keyframe, "h264", data, False)
            )
        return frames
