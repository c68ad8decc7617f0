"""CMAF packaging: cut an encoder's work file into ``init.mp4`` and ``seg_NNNNN.m4s`` files.

Segment ``k`` starts at the first sample (the first sync sample, for video) whose decode time
reaches ``starts[k]``. File names are deterministic (``seg_00001.m4s`` is segment 1), so a rerun
or a chunked run writes the very same names, and each segment's ``tfdt`` is its absolute decode
time, so segments written by separate runs concatenate seamlessly after the one init segment.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipelines.packaging.fragment_writer import encode_fragment
from pipelines.packaging.fragments import read_init, read_samples
from pipelines.packaging.init_segments import with_edit_list
from pipelines.packaging.tracks import Sample, Track

__all__ = ["Segment", "write_segments", "scan_segments", "segment_name", "INIT_NAME"]

INIT_NAME = "init.mp4"


def segment_name(number: int) -> str:
    """File name of segment ``number`` (1-based): ``seg_00001.m4s``."""
    return f"seg_{number:05d}.m4s"


@dataclass(frozen=True)
class Segment:
    """One written media segment; ``start``/``duration`` in seconds, ``size`` in bytes, and
    ``decode_time``/``ticks`` the same in track timescale units (for DASH timelines)."""

    number: int
    path: Path
    start: float
    duration: float
    size: int
    decode_time: int
    ticks: int
    samples: int


def write_segments(
    work: Path,
    folder: Path,
    starts: Sequence[float],
    *,
    first_number: int = 1,
    first_time: float | None = None,
    write_init: bool = True,
    priming: int = 0,
) -> tuple[Track, list[Segment]]:
    """Cut the work file ``work`` at ``starts`` (seconds, one per segment, ascending) into
    ``folder``. Segment ``i`` of the cut is numbered ``first_number + i``. With ``first_time``
    (seconds) the samples are shifted so the first one decodes then (chunked runs); otherwise
    times are kept from the work file. ``priming`` (timescale
    units) adds an edit list hiding that many leading samples (AAC encoder delay)."""
    init, track = read_init(work)
    folder.mkdir(parents=True, exist_ok=True)
    if write_init:
        _atomic_write(folder / INIT_NAME, with_edit_list(init, priming) if priming else init)
    video = track.kind == "video"
    written: list[Segment] = []
    pending: list[Sample] = []
    offset: int | None = None
    for raw in read_samples(work, track):
        if offset is None:
            offset = 0 if first_time is None else round(first_time * track.timescale) - raw.decode_time
        sample = Sample(raw.decode_time + offset, raw.duration, raw.flags, raw.cts_offset, raw.data)
        index = len(written) + 1
        if pending and index < len(starts) and (sample.is_sync or not video):
            boundary = round(starts[index] * track.timescale)
            if 2 * sample.decode_time >= 2 * boundary - sample.duration:
                written.append(_flush(track, folder, first_number + len(written), pending))
                pending = []
        pending.append(sample)
    if pending:
        written.append(_flush(track, folder, first_number + len(written), pending))
    work.unlink()
    return track, written


def _flush(track: Track, folder: Path, number: int, samples: list[Sample]) -> Segment:
    path = folder / segment_name(number)
    data = encode_fragment(number, track.track_id, samples)
    _atomic_write(path, data)
    ticks = sum(s.duration for s in samples)
    return Segment(
        number=number,
        path=path,
        start=samples[0].decode_time / track.timescale,
        duration=ticks / track.timescale,
        size=len(data),
        decode_time=samples[0].decode_time,
        ticks=ticks,
        samples=len(samples),
    )


def scan_segments(folder: Path) -> tuple[Track, list[Segment]]:
    """Read back a rendition folder written by :func:`write_segments` (possibly by several
    chunked runs): its init and every ``seg_*.m4s`` in number order."""
    _, track = read_init(folder / INIT_NAME)
    segments = []
    for path in sorted(folder.glob("seg_*.m4s")):
        number = int(path.stem.split("_")[1])
        samples = list(read_samples(path, track))
        first = samples[0].decode_time
        ticks = sum(s.duration for s in samples)
        segments.append(
            Segment(
                number,
                path,
                first / track.timescale,
                ticks / track.timescale,
                path.stat().st_size,
                first,
                ticks,
                len(samples),
            )
        )
    return track, segments


def _atomic_write(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
