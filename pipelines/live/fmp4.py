"""CMAF fragmented MP4 writing: the init segment and one ``moof``+``mdat`` fragment per part.

Samples are copied, never re-encoded. Times are in each track's timescale; a fragment's
``trun`` gives every sample its duration, size, sync flag and (video) signed composition offset,
and ``tfdt`` its track's base media decode time, so parts can be fetched and decoded on their own
after the init segment.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from pipelines.live.boxes import box, full_box
from pipelines.live.tracks import Track

__all__ = ["Sample", "init_segment", "fragment"]

_MATRIX: Final = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
_SYNC: Final = 0x02000000
_NON_SYNC: Final = 0x01010000


@dataclass(frozen=True, slots=True)
class Sample:
    """One access unit: ``dts``, ``duration`` and ``cts_offset`` in the track's timescale."""

    dts: int
    duration: int
    cts_offset: int
    keyframe: bool
    data: bytes


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


def init_segment(tracks: list[Track]) -> bytes:
    """``ftyp`` + ``moov`` (with ``mvex``) for ``tracks``."""
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


def _traf(track: Track, samples: list[Sample], data_offset: int) -> bytes:
    video = track.kind == "video"
    flags = 0x000001 | 0x000100 | 0x000200 | (0x000C00 if video else 0)
    rows = bytearray()
    for s in samples:
        rows += struct.pack(">II", s.duration, len(s.data))
        if video:
            rows += struct.pack(">Ii", _SYNC if s.keyframe else _NON_SYNC, s.cts_offset)
    return box(
        b"traf",
        full_box(b"tfhd", 0, 0x020000, struct.pack(">I", track.track_id)),
        full_box(b"tfdt", 1, 0, struct.pack(">Q", samples[0].dts)),
        full_box(b"trun", 1, flags, struct.pack(">Ii", len(samples), data_offset), bytes(rows)),
    )


def fragment(sequence: int, runs: list[tuple[Track, list[Sample]]]) -> bytes:
    """One ``moof`` + ``mdat`` holding each non-empty run; ``sequence`` counts fragments from 1."""
    runs = [(track, samples) for track, samples in runs if samples]
    if not runs:
        raise ValueError("a fragment needs at least one sample")

    def moof(offsets: list[int]) -> bytes:
        pairs = zip(runs, offsets, strict=True)
        trafs = [_traf(track, samples, offset) for (track, samples), offset in pairs]
        return box(b"moof", full_box(b"mfhd", 0, 0, struct.pack(">I", sequence)), *trafs)

    size = len(moof([0] * len(runs)))
    offsets, position = [], size + 8
    for _, samples in runs:
        offsets.append(position)
        position += sum(len(s.data) for s in samples)
    mdat = box(b"mdat", *(s.data for _, samples in runs for s in samples))
    return moof(offsets) + mdat
