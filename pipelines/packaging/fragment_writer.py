"""Writing CMAF media segments and init segments.

Any run of samples becomes one ``styp``+``moof``+``mdat`` media segment whose ``tfdt`` carries
the absolute decode time, so segments cut anywhere (and by separate processes) continue each
other exactly after one shared init segment.
"""

from __future__ import annotations

import struct

from pipelines.packaging.boxes import box, full_box, read_children
from pipelines.packaging.fragments import Sample

__all__ = ["encode_fragment", "with_edit_list"]

_STYP = box(b"styp", b"msdh", struct.pack(">I", 0), b"msdh", b"msix", b"cmfs")


def encode_fragment(sequence: int, track_id: int, samples: list[Sample]) -> bytes:
    """One CMAF media segment (``styp``, ``moof``, ``mdat``) holding ``samples`` in order.
    ``tfdt`` is the first sample's decode time; data offsets are relative to the moof."""
    signed = any(s.cts_offset < 0 for s in samples)
    flags = 0x01 | 0x100 | 0x200 | 0x400 | (0x800 if any(s.cts_offset for s in samples) else 0)
    entry = ">IIIi" if flags & 0x800 else ">III"
    rows = b"".join(
        struct.pack(entry, s.duration, len(s.data), s.flags, s.cts_offset)
        if flags & 0x800
        else struct.pack(entry, s.duration, len(s.data), s.flags)
        for s in samples
    )

    def moof(data_offset: int) -> bytes:
        trun = full_box(
            b"trun", 1 if signed else 0, flags, struct.pack(">Ii", len(samples), data_offset), rows
        )
        traf = box(
            b"traf",
            full_box(b"tfhd", 0, 0x020000, struct.pack(">I", track_id)),
            full_box(b"tfdt", 1, 0, struct.pack(">Q", samples[0].decode_time)),
            trun,
        )
        return box(b"moof", full_box(b"mfhd", 0, 0, struct.pack(">I", sequence)), traf)

    header = moof(0)
    return _STYP + moof(len(header) + 8) + box(b"mdat", *(s.data for s in samples))


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
