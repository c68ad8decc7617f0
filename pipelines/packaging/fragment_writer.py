"""Writing fMP4 fragments (``moof`` + ``mdat``), for VOD segments and live parts alike.

Every ``traf`` carries its track's absolute decode time in ``tfdt`` and its data offsets
relative to the ``moof`` (``default-base-is-moof``), so fragments cut anywhere, by separate
processes or as live parts, decode on their own after the one init segment and continue each
other exactly. A ``trun`` gives every sample its duration, size and flags, and composition
offsets when any sample of the run has one (signed, version 1, when any is negative).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from pipelines.packaging.boxes import box, full_box
from pipelines.packaging.tracks import Sample

__all__ = ["fragment", "encode_fragment"]

_STYP = box(b"styp", b"msdh", struct.pack(">I", 0), b"msdh", b"msix", b"cmfs")
_DATA_OFFSET, _DURATION, _SIZE, _FLAGS, _CTS = 0x001, 0x100, 0x200, 0x400, 0x800


def _traf(track_id: int, samples: Sequence[Sample], data_offset: int) -> bytes:
    with_cts = any(s.cts_offset for s in samples)
    signed = any(s.cts_offset < 0 for s in samples)
    flags = _DATA_OFFSET | _DURATION | _SIZE | _FLAGS | (_CTS if with_cts else 0)
    rows = b"".join(
        struct.pack(">IIIi", s.duration, len(s.data), s.flags, s.cts_offset)
        if with_cts
        else struct.pack(">III", s.duration, len(s.data), s.flags)
        for s in samples
    )
    return box(
        b"traf",
        full_box(b"tfhd", 0, 0x020000, struct.pack(">I", track_id)),
        full_box(b"tfdt", 1, 0, struct.pack(">Q", samples[0].decode_time)),
        full_box(b"trun", 1 if signed else 0, flags, struct.pack(">Ii", len(samples), data_offset), rows),
    )


def fragment(sequence: int, runs: Sequence[tuple[int, Sequence[Sample]]]) -> bytes:
    """One ``moof`` + ``mdat`` with a ``traf`` for each non-empty run of ``(track id, samples in
    decode order)``, the runs' data one after another in the ``mdat``. ``sequence`` is the
    ``mfhd`` sequence number (counting fragments from 1). Raises ``ValueError`` when every run is
    empty."""
    filled = [(track_id, samples) for track_id, samples in runs if samples]
    if not filled:
        raise ValueError("a fragment needs at least one sample")

    def moof(offsets: list[int]) -> bytes:
        pairs = zip(filled, offsets, strict=True)
        trafs = [_traf(track_id, samples, offset) for (track_id, samples), offset in pairs]
        return box(b"moof", full_box(b"mfhd", 0, 0, struct.pack(">I", sequence)), *trafs)

    offsets, position = [], len(moof([0] * len(filled))) + 8
    for _, samples in filled:
        offsets.append(position)
        position += sum(len(s.data) for s in samples)
    return moof(offsets) + box(b"mdat", *(s.data for _, samples in filled for s in samples))


def encode_fragment(sequence: int, track_id: int, samples: Sequence[Sample]) -> bytes:
    """One CMAF media segment (``styp``, ``moof``, ``mdat``) holding ``samples`` of one track."""
    return _STYP + fragment(sequence, [(track_id, samples)])
