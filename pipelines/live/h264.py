"""H.264 bitstream forms: the Annex B byte stream libx264 writes, and the MP4 form we package
(4-byte length-prefixed NAL units, parameter sets in an ``AVCDecoderConfigurationRecord``)."""

from __future__ import annotations

from typing import Final

__all__ = ["split_annexb", "length_prefixed", "avcc_record"]

_SPS, _PPS, _AUD = 7, 8, 9
_OUT_OF_BAND: Final = frozenset({_SPS, _PPS, _AUD})


def split_annexb(data: bytes) -> list[bytes]:
    """The NAL units of an Annex B buffer (3- or 4-byte start codes), without start codes."""
    units: list[bytes] = []
    start = data.find(b"\x00\x00\x01")
    while start >= 0:
        begin = start + 3
        end = data.find(b"\x00\x00\x01", begin)
        unit = data[begin:] if end < 0 else data[begin:end]
        if end >= 0 and unit.endswith(b"\x00"):
            unit = unit[:-1]  # the leading zero of the next 4-byte start code
        if unit:
            units.append(unit)
        start = end
    return units


def length_prefixed(units: list[bytes], *, keep_parameter_sets: bool = False) -> bytes:
    """One MP4 sample: each unit behind its 4-byte big-endian length. Parameter sets and access
    unit delimiters are left out unless asked for (``avc1`` carries them in the sample entry)."""
    return b"".join(
        len(u).to_bytes(4, "big") + u for u in units if keep_parameter_sets or u[0] & 0x1F not in _OUT_OF_BAND
    )


def avcc_record(units: list[bytes]) -> bytes:
    """The ``AVCDecoderConfigurationRecord`` of the first SPS and PPS among ``units``.

    Raises ``ValueError`` when either is missing.
    """
    sps = next((u for u in units if u[0] & 0x1F == _SPS and len(u) >= 4), None)
    pps = next((u for u in units if u[0] & 0x1F == _PPS), None)
    if sps is None or pps is None:
        raise ValueError("the encoder's headers hold no SPS and PPS")
    return (
        bytes([1, sps[1], sps[2], sps[3], 0xFF, 0xE1])
        + len(sps).to_bytes(2, "big")
        + sps
        + bytes([1])
        + len(pps).to_bytes(2, "big")
        + pps
    )
