"""FLV audio and video tag bodies, as RTMP carries them, parsed into ``pipelines.frames`` frames.

Video: legacy FLV (codec id 7 = H.264/AVC, 12 = HEVC as the widely deployed extension) and
Enhanced RTMP (``ExVideoTagHeader`` with FourCC ``avc1``, ``hvc1`` or ``av01``). Audio: AAC
(sound format 10) and Enhanced RTMP audio with FourCC ``mp4a``. Tag times are milliseconds.
Tags this server does not carry (other codecs, command frames, end-of-sequence, multitrack)
parse to ``None``; truncated tags raise ``ProtocolError``.
"""

from __future__ import annotations

import logging
from typing import Final

from pipelines.frames import AudioFrame, VideoFrame
from rtmp.errors import ProtocolError

__all__ = ["parse_video", "parse_audio", "VIDEO_CODECS", "AUDIO_CODECS"]

log = logging.getLogger(__name__)

VIDEO_CODECS: Final = {b"avc1": "h264", b"hvc1": "hevc", b"av01": "av1"}
AUDIO_CODECS: Final = {b"mp4a": "aac"}
_LEGACY_VIDEO: Final = {7: "h264", 12: "hevc"}
_KEY, _COMMAND = 1, 5
_SEQUENCE_START, _CODED_FRAMES, _CODED_FRAMES_X = 0, 1, 3


def _need(payload: bytes, size: int, what: str) -> None:
    if len(payload) < size:
        raise ProtocolError(f"{what} tag of {len(payload)} bytes is truncated (need {size})")


def _si24(raw: bytes) -> int:
    value = int.from_bytes(raw, "big")
    return value - (1 << 24) if value & 0x800000 else value


def parse_video(payload: bytes, ts_ms: int) -> VideoFrame | None:
    """Parse one FLV video tag body received at ``ts_ms``."""
    _need(payload, 1, "video")
    first = payload[0]
    if first & 0x80:
        return _parse_enhanced_video(payload, ts_ms)
    frame_type, codec_id = first >> 4, first & 0x0F
    codec = _LEGACY_VIDEO.get(codec_id)
    if codec is None or frame_type == _COMMAND:
        log.debug("ignoring video tag: frame type %d, codec id %d", frame_type, codec_id)
        return None
    _need(payload, 5, "AVC video")
    packet_type = payload[1]
    if packet_type not in (0, 1):
        return None
    return VideoFrame(
        ts_ms=ts_ms,
        cts_ms=_si24(payload[2:5]),
        keyframe=frame_type == _KEY,
        codec=codec,
        data=payload[5:],
        is_config=packet_type == 0,
    )


def _parse_enhanced_video(payload: bytes, ts_ms: int) -> VideoFrame | None:
    _need(payload, 5, "enhanced video")
    frame_type, packet_type = (payload[0] >> 4) & 0x07, payload[0] & 0x0F
    codec = VIDEO_CODECS.get(payload[1:5])
    if codec is None or frame_type == _COMMAND or packet_type not in (0, 1, 3):
        log.debug("ignoring enhanced video tag: fourcc %r, packet type %d", payload[1:5], packet_type)
        return None
    cts, body = 0, payload[5:]
    if packet_type == _CODED_FRAMES and codec != "av1":
        _need(payload, 8, "enhanced video")
        cts, body = _si24(payload[5:8]), payload[8:]
    return VideoFrame(
        ts_ms=ts_ms,
        cts_ms=cts,
        keyframe=frame_type == _KEY,
        codec=codec,
        data=body,
        is_config=packet_type == _SEQUENCE_START,
    )


def parse_audio(payload: bytes, ts_ms: int) -> AudioFrame | None:
    """Parse one FLV audio tag body received at ``ts_ms``."""
    _need(payload, 1, "audio")
    sound_format = payload[0] >> 4
    if sound_format == 9:
        _need(payload, 5, "enhanced audio")
        packet_type = payload[0] & 0x0F
        codec = AUDIO_CODECS.get(payload[1:5])
        if codec is None or packet_type not in (_SEQUENCE_START, _CODED_FRAMES):
            log.debug("ignoring enhanced audio tag: fourcc %r, packet type %d", payload[1:5], packet_type)
            return None
        return AudioFrame(ts_ms, codec, payload[5:], packet_type == _SEQUENCE_START)
    if sound_format != 10:
        log.debug("ignoring audio tag with sound format %d", sound_format)
        return None
    _need(payload, 2, "AAC audio")
    if payload[1] not in (0, 1):
        raise ProtocolError(f"AAC packet type {payload[1]} is neither 0 nor 1")
    return AudioFrame(ts_ms, "aac", payload[2:], payload[1] == 0)
