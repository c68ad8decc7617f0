"""Compressed media frames as a live source hands them over, whatever its ingest protocol.

RTMP, WHIP and the live ladder's encoders all produce these; the LL-HLS packager, the FLV
recorder and the WHEP relay consume them. Frame ``data`` is exactly what an MP4 sample holds:
length-prefixed NAL units for H.264/HEVC, low-overhead OBUs for AV1, a raw AAC access unit. For
``is_config`` frames it is the decoder configuration record (AVCDecoderConfigurationRecord,
HEVCDecoderConfigurationRecord, AV1CodecConfigurationRecord, AudioSpecificConfig).
Times are milliseconds: ``ts_ms`` is the decode time, ``cts_ms`` the composition offset
(presentation = ts_ms + cts_ms).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["VideoFrame", "AudioFrame"]


@dataclass(frozen=True, slots=True)
class VideoFrame:
    """One video access unit or decoder configuration; ``codec`` is ``h264``, ``hevc`` or ``av1``."""

    ts_ms: int
    cts_ms: int
    keyframe: bool
    codec: str
    data: bytes
    is_config: bool


@dataclass(frozen=True, slots=True)
class AudioFrame:
    """One audio access unit or AudioSpecificConfig (``is_config``); ``codec`` is ``aac``."""

    ts_ms: int
    codec: str
    data: bytes
    is_config: bool
