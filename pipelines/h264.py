"""H.264 bitstream forms, one set for all of pipelines (live packaging, the ladder, WebRTC).

The same NAL units travel in two forms: the Annex B byte stream (start codes), which libx264
writes and RTP packetizers read, and the MP4/FLV form that RTMP carries and CMAF packages, where
each unit sits behind its big-endian length and the parameter sets travel out of band in an
AVCDecoderConfigurationRecord (``avcC``). Emulation prevention bytes (``00 00 03``) stay inside
the units in both forms. Unreadable input raises ``BadBitstream``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from pipelines.errors import BadBitstream

__all__ = ["AvcConfig", "START", "split_annexb", "length_prefixed", "avcc_record", "parse_avcc", "to_annexb"]

START: Final = b"\x00\x00\x00\x01"
_SPS, _PPS, _AUD = 7, 8, 9
_OUT_OF_BAND: Final = frozenset({_SPS, _PPS, _AUD})


@dataclass(frozen=True, slots=True)
class AvcConfig:
    """An AVCDecoderConfigurationRecord: its parameter sets and the NAL length field size (bytes)."""

    length_size: int
    sps: tuple[bytes, ...]
    pps: tuple[bytes, ...]

    def annexb_parameter_sets(self) -> bytes:
        return b"".join(START + nal for nal in (*self.sps, *self.pps))


def split_annexb(data: bytes) -> list[bytes]:
    """The NAL units of an Annex B buffer, in order, without their start codes.

    Start codes are 3 or 4 bytes long. Zero bytes in front of a start code (the first byte of a
    4-byte one, or any run of ``trailing_zero_8bits``) and at the very end belong to no unit:
    a NAL unit never ends in ``0x00`` (H.264 section 7.4.1), so every unit, the last one too, is
    cut before its trailing zeros. Bytes before the first start code and empty units are left
    out; ``00 00 03`` is emulation prevention, not a start code, and stays in its unit.
    """
    units: list[bytes] = []
    start = data.find(b"\x00\x00\x01")
    while start >= 0:
        begin = start + 3
        end = data.find(b"\x00\x00\x01", begin)
        unit = (data[begin:] if end < 0 else data[begin:end]).rstrip(b"\x00")
        if unit:
            units.append(unit)
        start = end
    return units


def length_prefixed(units: Iterable[bytes], *, keep_parameter_sets: bool = False) -> bytes:
    """One MP4 sample: each unit behind its 4-byte big-endian length. SPS, PPS and access unit
    delimiters are left out unless asked for (``avc1`` carries them in the sample entry)."""
    return b"".join(
        len(u).to_bytes(4, "big") + u for u in units if keep_parameter_sets or u[0] & 0x1F not in _OUT_OF_BAND
    )


def avcc_record(units: Iterable[bytes]) -> bytes:
    """The ``avcC`` record (4-byte NAL lengths) of the first SPS and the first PPS in ``units``.

    An SPS shorter than 4 bytes (no profile and level to copy) does not count. Raises
    ``BadBitstream`` when either is missing.
    """
    units = list(units)
    sps = next((u for u in units if u[0] & 0x1F == _SPS and len(u) >= 4), None)
    pps = next((u for u in units if u[0] & 0x1F == _PPS), None)
    if sps is None or pps is None:
        raise BadBitstream("the encoder's headers hold no SPS and PPS")
    return (
        bytes([1, sps[1], sps[2], sps[3], 0xFF, 0xE1])
        + len(sps).to_bytes(2, "big")
        + sps
        + b"\x01"
        + len(pps).to_bytes(2, "big")
        + pps
    )


def parse_avcc(record: bytes) -> AvcConfig:
    """Parse an ``avcC`` record; raises ``BadBitstream`` when it is truncated or not version 1."""
    if len(record) < 7 or record[0] != 1:
        raise BadBitstream("not an AVC decoder configuration record")
    length_size = (record[4] & 0x03) + 1
    pos, sets = 5, []
    for mask in (0x1F, 0xFF):
        if pos >= len(record):
            raise BadBitstream("AVC decoder configuration record is truncated")
        count, pos = record[pos] & mask, pos + 1
        found = []
        for _ in range(count):
            size = int.from_bytes(record[pos : pos + 2], "big")
            nal = record[pos + 2 : pos + 2 + size]
            if len(nal) != size or size == 0:
                raise BadBitstream("AVC decoder configuration record is truncated")
            found.append(nal)
            pos += 2 + size
        sets.append(tuple(found))
    if not sets[0]:
        raise BadBitstream("AVC decoder configuration record has no SPS")
    return AvcConfig(length_size, sets[0], sets[1])


def to_annexb(data: bytes, length_size: int = 4) -> bytes:
    """Length-prefixed NAL units (``length_size`` bytes each) to start-code form."""
    out, pos = bytearray(), 0
    while pos < len(data):
        size = int.from_bytes(data[pos : pos + length_size], "big")
        pos += length_size
        if size == 0 or pos + size > len(data):
            raise BadBitstream("NAL unit length runs past the end of the access unit")
        out += START + data[pos : pos + size]
        pos += size
    return bytes(out)
