"""Init segments (``ftyp`` + ``moov``): written from track descriptions for live, patched with an
edit list for VOD (whose init segments are the encoder's own).

The written ``moov`` declares no samples (empty sample tables) and an ``mvex`` with one ``trex``
per track: every sample comes in fragments (:mod:`pipelines.packaging.fragment_writer`).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Final

from pipelines.packaging.boxes import box, full_box, read_children
from pipelines.packaging.tracks import Track

__all__ = ["init_segment", "with_edit_list"]

_MATRIX: Final = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)


def _trak(track: Track) -> bytes:
    video = track.kind == "video"
    tkhd = full_box(
        b"tkhd",
        0,
        3,
        struct.pack(">IIIII", 0, 0, track.track_id, 0, 0),
        bytes(8),
        struct.pack(">hhHH", 0, 0, 0 if video else 0x0100, 0),
        _MATRIX,
        struct.pack(">II", track.width << 16, track.height << 16),
    )
    mdhd = full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, track.timescale, 0, 0x55C4, 0))
    handler, name = (b"vide", b"VideoHandler\x00") if video else (b"soun", b"SoundHandler\x00")
    hdlr = full_box(b"hdlr", 0, 0, bytes(4), handler, bytes(12), name)
    media_header = full_box(b"vmhd", 0, 1, bytes(8)) if video else full_box(b"smhd", 0, 0, bytes(4))
    dinf = box(b"dinf", full_box(b"dref", 0, 0, struct.pack(">I", 1), full_box(b"url ", 0, 1)))
    stbl = box(
        b"stbl",
        full_box(b"stsd", 0, 0, struct.pack(">I", 1), track.sample_entry),
        full_box(b"stts", 0, 0, bytes(4)),
        full_box(b"stsc", 0, 0, bytes(4)),
        full_box(b"stsz", 0, 0, bytes(8)),
        full_box(b"stco", 0, 0, bytes(4)),
    )
    return box(b"trak", tkhd, box(b"mdia", mdhd, hdlr, box(b"minf", media_header, dinf, stbl)))


def init_segment(tracks: Sequence[Track]) -> bytes:
    """``ftyp`` + ``moov`` (with ``mvex``) for ``tracks``, in the order given."""
    ftyp = box(b"ftyp", b"iso6", struct.pack(">I", 0), b"iso6", b"cmfc", b"mp41")
    mvhd = full_box(
        b"mvhd",
        0,
        0,
        struct.pack(">IIIIIH", 0, 0, 1000, 0, 0x00010000, 0x0100),
        bytes(10),
        _MATRIX,
        bytes(24),
        struct.pack(">I", max(t.track_id for t in tracks) + 1),
    )
    trex = [full_box(b"trex", 0, 0, struct.pack(">IIIII", t.track_id, 1, 0, 0, 0)) for t in tracks]
    return ftyp + box(b"moov", mvhd, *(_trak(t) for t in tracks), box(b"mvex", *trex))


def with_edit_list(init: bytes, media_time: int) -> bytes:
    """``init`` with an edit list that starts presentation at ``media_time`` (track timescale
    units): how AAC encoder priming samples are hidden from the viewer."""
    out = b""
    for top in read_children(init):
        if top.kind != b"moov":
            out += box(top.kind, top.payload)
            continue
        children = b""
        for child in read_children(top.payload):
            if child.kind == b"trak":
                parts = [c for c in read_children(child.payload) if c.kind != b"edts"]
                elst = full_box(b"elst", 0, 0, struct.pack(">IIiHH", 1, 0, media_time, 1, 0))
                body = b"".join(
                    box(c.kind, c.payload) + (box(b"edts", elst) if c.kind == b"tkhd" else b"") for c in parts
                )
                children += box(b"trak", body)
            else:
                children += box(child.kind, child.payload)
        out += box(b"moov", children)
    return out
