"""RFC 6381 codec strings (the ``CODECS`` attribute of HLS, ``codecs`` of DASH) read from a
track's decoder configuration box (``avcC``, ``hvcC``, ``av1C``, ``esds``), as VOD writes them
(lower-case hexadecimal; the live packager's own, from RTMP records, are in
:mod:`pipelines.live.tracks`)."""

from __future__ import annotations

from pipelines.packaging.boxes import read_children
from pipelines.packaging.tracks import Track

__all__ = ["codec_string"]


def codec_string(track: Track) -> str:
    """The RFC 6381 ``CODECS`` value of a track: ``avc1.64001f``, ``hvc1.1.6.L93.B0``,
    ``av01.0.04M.08``, ``mp4a.40.2``."""
    config = read_children(track.codec_config)
    body = config[0].payload if config else b""
    entry = track.entry_type.decode("ascii")
    if entry in ("avc1", "avc3") and len(body) >= 4:
        return f"{entry}.{body[1]:02x}{body[2]:02x}{body[3]:02x}"
    if entry in ("hvc1", "hev1") and len(body) >= 13:
        space, tier, profile = body[1] >> 6, (body[1] >> 5) & 1, body[1] & 0x1F
        compat = int.from_bytes(body[2:6], "big")
        reversed_compat = int(f"{compat:032b}"[::-1], 2)
        constraints = body[6:12].rstrip(b"\0")
        parts = [
            f"{entry}",
            f"{'ABC'[space - 1] if space else ''}{profile}",
            f"{reversed_compat:x}",
            f"{'HL'[tier == 0]}{body[12]}",
        ]
        parts += [f"{byte:X}" for byte in constraints]
        return ".".join(parts)
    if entry == "av01" and len(body) >= 3:
        profile, level = body[1] >> 5, body[1] & 0x1F
        av1_tier = "H" if body[2] >> 7 else "M"
        depth = 12 if body[2] & 0x20 else (10 if body[2] & 0x40 else 8)
        return f"av01.{profile}.{level:02d}{av1_tier}.{depth:02d}"
    if entry == "mp4a":
        return f"mp4a.40.{_aac_object_type(body)}"
    return entry


def _aac_object_type(esds: bytes) -> int:
    """The audio object type in an ``esds`` box body (2, AAC-LC, when it cannot be read)."""
    try:
        tag, pos = _descriptor(esds, 4)
        if tag != 0x03:
            return 2
        flags = esds[pos + 2]
        pos += 3 + (2 if flags & 0x80 else 0) + (2 if flags & 0x20 else 0)
        if flags & 0x40:
            pos += 1 + esds[pos]
        tag, pos = _descriptor(esds, pos)
        if tag != 0x04:
            return 2
        tag, pos = _descriptor(esds, pos + 13)
        return (esds[pos] >> 3 or 2) if tag == 0x05 else 2
    except IndexError:
        return 2


def _descriptor(data: bytes, pos: int) -> tuple[int, int]:
    """(tag, payload position) of the MPEG-4 descriptor at ``pos``."""
    tag = data[pos]
    pos += 1
    for _ in range(4):
        byte = data[pos]
        pos += 1
        if not byte & 0x80:
            break
    return tag, pos
