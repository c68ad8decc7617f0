"""H.264 bitstream forms: the MP4/FLV form (``avcC`` record, length-prefixed NAL units) that
RTMP carries, and the Annex B form (start codes) that RTP packetizers and encoders speak."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pipelines.webrtc.errors import BadBitstream

__all__ = ["AvcConfig", "parse_avcc", "build_avcc", "to_annexb", "split_annexb", "length_prefixed"]

START = b"\x00\x00\x00\x01"
_SPS, _PPS = 7, 8


@dataclass(frozen=True, slots=True)
class AvcConfig:
    """An AVCDecoderConfigurationRecord: its parameter sets and the NAL length field size (bytes)."""

    length_size: int
    sps: tuple[bytes, ...]
    pps: tuple[bytes, ...]

    def annexb_parameter_sets(self) -> bytes:
        return b"".join(START + nal for nal in (*self.sps, *self.pps))


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


def build_avcc(sps: bytes, pps: bytes) -> bytes:
    """An ``avcC`` record with one SPS and one PPS and 4-byte NAL lengths."""
    if len(sps) < 4:
        raise BadBitstream("SPS too short")
    return (
        bytes([1, sps[1], sps[2], sps[3], 0xFF, 0xE1])
        + len(sps).to_bytes(2, "big")
        + sps
        + b"\x01"
        + len(pps).to_bytes(2, "big")
        + pps
    )


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


def split_annexb(buf: bytes) -> Iterator[bytes]:
    """The NAL units of a start-code stream (3- or 4-byte start codes), without their start codes."""
    starts, i = [], buf.find(b"\x00\x00\x01")
    while i != -1:
        starts.append(i + 3)
        i = buf.find(b"\x00\x00\x01", i + 3)
    for n, begin in enumerate(starts):
        end = starts[n + 1] - 3 if n + 1 < len(starts) else len(buf)
        nal = buf[begin:end]
        while nal.endswith(b"\x00") and n + 1 < len(starts):
            nal = nal[:-1]  # the zero that made the next start code four bytes long
        if nal:
            yield nal


def length_prefixed(nals: Iterable[bytes]) -> bytes:
    return b"".join(len(nal).to_bytes(4, "big") + nal for nal in nals)


def nal_type(nal: bytes) -> int:
    return nal[0] & 0x1F


def parameter_sets(nals: Iterable[bytes]) -> tuple[bytes | None, bytes | None]:
    """The first SPS and PPS among ``nals``."""
    sps = pps = None
    for nal in nals:
        kind = nal_type(nal)
        if kind == _SPS and sps is None:
            sps = nal
        elif kind == _PPS and pps is None:
            pps = nal
    return sps, pps
