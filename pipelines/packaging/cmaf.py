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

from pipelines.packaging.boxes import read_children
from pipelines.packaging.fragments import (
    Sample,
    Track,
    encode_fragment,
    read_track,
    read_track_fragments,
    with_edit_list,
)

__all__ = ["Segment", "write_segments", "scan_segments", "segment_name", "codec_string", "INIT_NAME"]

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
    track, samples = read_track(work)
    folder.mkdir(parents=True, exist_ok=True)
    if write_init:
        _atomic_write(folder / INIT_NAME, with_edit_list(track.init, priming) if priming else track.init)
    video = track.handler == b"vide"
    written: list[Segment] = []
    pending: list[Sample] = []
    offset: int | None = None
    for raw in samples:
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
    track, _ = read_track(folder / INIT_NAME)
    segments = []
    for path in sorted(folder.glob("seg_*.m4s")):
        number = int(path.stem.split("_")[1])
        _, samples = read_track_fragments(path, track)
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


def codec_string(track: Track) -> str:
    """The RFC 6381 ``CODECS`` value of a track: ``avc1.64001f``, ``hvc1.1.6.L93.B0``,
    ``av01.0.04M.08``, ``mp4a.40.2``."""
    config = read_children(track.codec_config)
    body = config[0].payload if config else b""
    entry = track.sample_entry.decode("ascii")
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
