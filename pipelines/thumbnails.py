"""Thumbnails: candidate stills spread over the video, black frames skipped, and a poster.

Each candidate is taken at a fraction of the duration (10/30/50/70/90% by default). When the
frame there is black (mean brightness below ``BLACK_LUMA``) the search moves forward, never
past the next candidate's position; a candidate that stays black is dropped. The poster is the
candidate with the most detail (brightness spread); if every candidate was black, the first
frame found becomes the poster anyway, so a video always has one.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import av

from pipelines.media import MediaInfo
from pipelines.probe import probe
from pipelines.stills import display_size, luma_stats, save_jpeg, upright_frames

__all__ = ["Thumbnail", "ThumbnailSet", "make_thumbnails", "BLACK_LUMA", "DEFAULT_POSITIONS"]

BLACK_LUMA = 24.0
"""Mean brightness (0-255) below which a frame counts as black."""

DEFAULT_POSITIONS = (0.1, 0.3, 0.5, 0.7, 0.9)


@dataclass(frozen=True)
class Thumbnail:
    """A written JPEG: ``time`` in seconds, size in pixels, mean ``brightness`` 0-255."""

    path: Path
    time: float
    width: int
    height: int
    brightness: float


@dataclass(frozen=True)
class ThumbnailSet:
    """The poster and the candidates (``poster`` is ``None`` only for audio-only input)."""

    poster: Thumbnail | None
    candidates: list[Thumbnail]


def make_thumbnails(
    src: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    info: MediaInfo | None = None,
    *,
    positions: Sequence[float] = DEFAULT_POSITIONS,
    max_width: int = 1280,
) -> ThumbnailSet:
    """Write ``out_dir/thumbnails/poster.jpg`` and ``thumb_NN.jpg`` candidates for ``src``."""
    source = Path(src)
    info = info or probe(source)
    if info.video is None:
        return ThumbnailSet(None, [])
    folder = Path(out_dir) / "thumbnails"
    width, height = display_size(info, max_width)
    times = sorted(min(max(p, 0.0), 1.0) * info.duration for p in positions)
    picks: list[tuple[float, av.VideoFrame, float, float]] = []
    fallback: tuple[float, av.VideoFrame, float, float] | None = None
    for index, target in enumerate(times):
        limit = times[index + 1] if index + 1 < len(times) else info.duration
        found = _first_lit(source, info, target, limit)
        if found is None:
            continue
        if found[2] >= BLACK_LUMA:
            picks.append(found)
        elif fallback is None:
            fallback = found
    if not picks and fallback is not None:
        picks = [fallback]
    candidates = []
    for number, (time, frame, mean, _) in enumerate(picks, start=1):
        path = folder / f"thumb_{number:02d}.jpg"
        save_jpeg(frame, path, width, height)
        candidates.append(Thumbnail(path, time, width, height, mean))
    if not candidates:
        return ThumbnailSet(None, [])
    best = max(range(len(picks)), key=lambda i: picks[i][3])
    poster_path = folder / "poster.jpg"
    save_jpeg(picks[best][1], poster_path, width, height)
    poster = Thumbnail(poster_path, picks[best][0], width, height, picks[best][2])
    return ThumbnailSet(poster, candidates)


def _first_lit(
    src: Path, info: MediaInfo, target: float, limit: float
) -> tuple[float, av.VideoFrame, float, float] | None:
    """The first non-black frame in [target, limit), else the frame at ``target``."""
    first: tuple[float, av.VideoFrame, float, float] | None = None
    with closing(upright_frames(src, info, start=target)) as frames:
        for time, frame in frames:
            if time < target - 1e-6:
                continue
            if first is not None and time >= limit:
                break
            mean, spread = luma_stats(frame)
            if mean >= BLACK_LUMA:
                return time, frame, mean, spread
            if first is None:
                first = (time, frame, mean, spread)
    return first
