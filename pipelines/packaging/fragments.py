"""Reading samples out of a fragmented MP4.

The encoders mux each rendition into one fragmented MP4 work file. This module reads that
file's single track (a :class:`~pipelines.packaging.tracks.Track`) and its samples one by one:
decode time and duration in the track's timescale, sync flag, composition offset and bytes
(see :mod:`pipelines.packaging.fragment_writer` for the way back).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from pipelines.packaging.boxes import box, find_child, iter_boxes, read_children
from pipelines.packaging.codecs import codec_string
from pipelines.packaging.tracks import Sample, Track

__all__ = ["read_init", "read_samples", "read_track", "read_track_fragments"]


def read_init(path: Path) -> tuple[bytes, Track]:
    """The init segment (``ftyp``+``moov`` bytes) at the start of ``path`` (a work file or an init
    segment) and the track it describes."""
    init = b""
    moov: bytes | None = None
    with path.open("rb") as handle:
        for found in iter_boxes(handle, skip_payload=frozenset({b"mdat", b"moof"})):
            if found.kind == b"moof":
                break
            if found.kind in (b"ftyp", b"moov"):
                init += box(found.kind, found.payload)
                if found.kind == b"moov":
                    moov = found.payload
    if moov is None:
        raise ValueError(f"{path} has no moov box")
    return init, _track(moov)


def read_samples(path: Path, track: Track) -> Iterator[Sample]:
    """Every sample in the ``moof`` boxes of ``path``, in order, read one fragment at a time
    (the file is opened on first use and closed when the iteration ends)."""
    with path.open("rb") as handle:
        end = handle.seek(0, 2)
        offset = 0
        while offset + 8 <= end:
            handle.seek(offset)
            size, kind = struct.unpack(">I4s", handle.read(8))
            if size < 8 or offset + size > end:
                return
            if kind == b"moof":
                traf = find_child(handle.read(size - 8), b"traf")
                if traf is not None:
                    yield from _traf_samples(handle, offset, traf.payload, track.trex)
            offset += size


def read_track(path: Path) -> tuple[Track, Iterator[Sample]]:
    """The track of the fragmented MP4 at ``path`` and a lazy iterator over its samples."""
    _, track = read_init(path)
    return track, read_samples(path, track)


def read_track_fragments(path: Path, track: Track) -> tuple[Track, list[Sample]]:
    """All samples of a media segment file (no moov of its own) belonging to ``track``."""
    return track, list(read_samples(path, track))


def _track(moov: bytes) -> Track:
    mdhd = find_child(moov, b"trak", b"mdia", b"mdhd")
    hdlr = find_child(moov, b"trak", b"mdia", b"hdlr")
    tkhd = find_child(moov, b"trak", b"tkhd")
    stsd = find_child(moov, b"trak", b"mdia", b"minf", b"stbl", b"stsd")
    if not (mdhd and hdlr and tkhd and stsd):
        raise ValueError("moov lacks a complete track")
    version = mdhd.full_header()[0]
    timescale = struct.unpack_from(">I", mdhd.payload, 20 if version == 1 else 12)[0]
    track_id = struct.unpack_from(">I", tkhd.payload, 20 if tkhd.full_header()[0] == 1 else 12)[0]
    entry = read_children(stsd.payload[8:])[0]
    track = Track(
        track_id=track_id,
        timescale=timescale,
        handler=hdlr.payload[8:12],
        sample_entry=box(entry.kind, entry.payload),
        trex=_trex_defaults(moov),
    )
    return replace(track, codec_string=codec_string(track))


def _trex_defaults(moov: bytes) -> tuple[int, int, int]:
    trex = find_child(moov, b"mvex", b"trex")
    if trex is None:
        return 0, 0, 0
    _, _, duration, size, flags = struct.unpack_from(">IIIII", trex.payload, 4)
    return duration, size, flags


def _traf_samples(
    handle: BinaryIO, moof_offset: int, traf: bytes, trex: tuple[int, int, int]
) -> Iterator[Sample]:
    default_duration, default_size, default_flags = trex
    base = moof_offset
    decode_time = 0
    runs = []
    for child in read_children(traf):
        _, flags = child.full_header()
        body = child.payload[4:]
        if child.kind == b"tfhd":
            pos = 4
            if flags & 0x01:
                base = struct.unpack_from(">Q", body, pos)[0]
                pos += 8
            if flags & 0x02:
                pos += 4
            if flags & 0x08:
                default_duration = struct.unpack_from(">I", body, pos)[0]
                pos += 4
            if flags & 0x10:
                default_size = struct.unpack_from(">I", body, pos)[0]
                pos += 4
            if flags & 0x20:
                default_flags = struct.unpack_from(">I", body, pos)[0]
        elif child.kind == b"tfdt":
            version = child.full_header()[0]
            decode_time = struct.unpack_from(">Q" if version == 1 else ">I", body, 0)[0]
        elif child.kind == b"trun":
            runs.append(child)
    for run in runs:
        version, flags = run.full_header()
        body = run.payload[4:]
        count = struct.unpack_from(">I", body, 0)[0]
        pos = 4
        data_offset = 0
        first_flags = None
        if flags & 0x01:
            data_offset = struct.unpack_from(">i", body, pos)[0]
            pos += 4
        if flags & 0x04:
            first_flags = struct.unpack_from(">I", body, pos)[0]
            pos += 4
        cursor = base + data_offset
        for index in range(count):
            duration, size, sample_flags, cts = default_duration, default_size, default_flags, 0
            if flags & 0x100:
                duration = struct.unpack_from(">I", body, pos)[0]
                pos += 4
            if flags & 0x200:
                size = struct.unpack_from(">I", body, pos)[0]
                pos += 4
            if flags & 0x400:
                sample_flags = struct.unpack_from(">I", body, pos)[0]
                pos += 4
            elif index == 0 and first_flags is not None:
                sample_flags = first_flags
            if flags & 0x800:
                cts = struct.unpack_from(">i" if version == 1 else ">I", body, pos)[0]
                pos += 4
            handle.seek(cursor)
            yield Sample(decode_time, duration, sample_flags, cts, handle.read(size))
            cursor += size
            decode_time += duration
