"""Live tracks (the packaging core's ``Track``) built from a publisher's decoder configuration
records: the sample entry box (``avc1``/``hvc1``/``av01``/``mp4a``) and the RFC 6381 codec string
for the HLS ``CODECS`` attribute (upper-case hexadecimal, as live playlists have always said).
Video uses a 90 kHz timescale; AAC uses its sampling rate, so an access unit lasts exactly 1024
ticks. A malformed record raises ``UnsupportedLiveCodec``.
"""

from __future__ import annotations

import struct
from typing import Final

from pipelines.live.errors import UnsupportedLiveCodec
from pipelines.packaging.boxes import box, full_box
from pipelines.packaging.tracks import Track

__all__ = ["video_track", "audio_track", "parse_audio_specific_config", "VIDEO_TIMESCALE"]

VIDEO_TIMESCALE: Final = 90_000
_AAC_RATES: Final = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350)
_CONFIG_BOX: Final = {"h264": (b"avc1", b"avcC"), "hevc": (b"hvc1", b"hvcC"), "av1": (b"av01", b"av1C")}


def _h264_codec_string(record: bytes) -> str:
    if len(record) < 7 or record[0] != 1:
        raise UnsupportedLiveCodec("The H.264 configuration record is malformed.")
    return f"avc1.{record[1]:02X}{record[2]:02X}{record[3]:02X}"


def _hevc_codec_string(record: bytes) -> str:
    if len(record) < 23 or record[0] != 1:
        raise UnsupportedLiveCodec("The HEVC configuration record is malformed.")
    space, tier, profile = record[1] >> 6, (record[1] >> 5) & 1, record[1] & 0x1F
    compat = int.from_bytes(record[2:6], "big")
    reversed_compat = int(f"{compat:032b}"[::-1], 2)
    constraints = record[6:12].rstrip(b"\x00")
    prefix = "ABC"[space - 1] if space else ""
    parts = [f"hvc1.{prefix}{profile}", f"{reversed_compat:X}", f"{'LH'[tier]}{record[12]}"]
    parts += [f"{b:X}" for b in constraints]
    return ".".join(parts)


def _av1_codec_string(record: bytes) -> str:
    if len(record) < 4 or record[0] != 0x81:
        raise UnsupportedLiveCodec("The AV1 configuration record is malformed.")
    profile, level = record[1] >> 5, record[1] & 0x1F
    tier = "H" if record[2] & 0x80 else "M"
    depth = 12 if record[2] & 0x20 else (10 if record[2] & 0x40 else 8)
    return f"av01.{profile}.{level:02d}{tier}.{depth:02d}"


_CODEC_STRING = {"h264": _h264_codec_string, "hevc": _hevc_codec_string, "av1": _av1_codec_string}


def video_track(track_id: int, codec: str, record: bytes, width: int, height: int) -> Track:
    """A video track from its configuration record; ``width``/``height`` in pixels (0 if unknown)."""
    if codec not in _CONFIG_BOX:
        raise UnsupportedLiveCodec(f"Video codec {codec} cannot be packaged.")
    codec_string = _CODEC_STRING[codec](record)
    entry_type, config_type = _CONFIG_BOX[codec]
    entry = box(
        entry_type,
        bytes(6)
        + struct.pack(">H", 1)
        + bytes(16)
        + struct.pack(">HHIIIH", width, height, 0x00480000, 0x00480000, 0, 1)
        + bytes(32)
        + struct.pack(">Hh", 0x18, -1)
        + box(config_type, record),
    )
    return Track(track_id, VIDEO_TIMESCALE, b"vide", entry, codec_string)


def parse_audio_specific_config(asc: bytes) -> tuple[int, int, int]:
    """``(audio object type, sampling rate in Hz, channel configuration)`` of an AudioSpecificConfig."""
    bits = int.from_bytes(asc[:8].ljust(8, b"\x00"), "big")
    if len(asc) < 2:
        raise UnsupportedLiveCodec("The AAC configuration is too short.")
    pos = 64

    def take(count: int) -> int:
        nonlocal pos
        pos -= count
        return (bits >> pos) & ((1 << count) - 1)

    object_type = take(5)
    if object_type == 31:
        object_type = 32 + take(6)
    index = take(4)
    rate = take(24) if index == 15 else (_AAC_RATES[index] if index < len(_AAC_RATES) else 0)
    channels = take(4)
    if rate == 0 or 64 - pos > 8 * len(asc):
        raise UnsupportedLiveCodec("The AAC configuration is malformed.")
    return object_type, rate, channels


def _descriptor(tag: int, body: bytes) -> bytes:
    size = len(body)
    length = bytes(
        [0x80 | (size >> 21) & 0x7F, 0x80 | (size >> 14) & 0x7F, 0x80 | (size >> 7) & 0x7F, size & 0x7F]
    )
    return bytes([tag]) + length + body


def audio_track(track_id: int, asc: bytes) -> Track:
    """An AAC track from its AudioSpecificConfig."""
    object_type, rate, channels = parse_audio_specific_config(asc)
    decoder_config = _descriptor(0x04, bytes([0x40, 0x15]) + bytes(3) + bytes(8) + _descriptor(0x05, asc))
    es = _descriptor(0x03, struct.pack(">HB", track_id, 0) + decoder_config + _descriptor(0x06, b"\x02"))
    entry = box(
        b"mp4a",
        bytes(6)
        + struct.pack(">H", 1)
        + bytes(8)
        + struct.pack(">HHHHI", channels or 2, 16, 0, 0, (rate if rate < 65536 else 0) << 16)
        + full_box(b"esds", 0, 0, es),
    )
    return Track(track_id, rate, b"soun", entry, f"mp4a.40.{object_type}")
