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

from pipelines.media import MediaInfo, MediaInput
from pipelines.probe import known_or_probed
from pipelines.stills import display_size, luma_stats, save_jpeg, upright_frames

__all__ = [
    "Thumbnail",
    "ThumbnailSet",
    "ThumbnailPicker",
    "make_thumbnails",
    "BLACK_LUMA",
    "DEFAULT_POSITIONS",
]

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


_Pick = tuple[float, av.VideoFrame, float, float]
"""(time, frame, mean brightness, brightness spread)"""


class ThumbnailPicker:
    """Chooses candidates from upright frames fed in time order (by :func:`make_thumbnails`,
    or by :func:`pipelines.transcode.transcode` through ``frame_sinks`` so the video is decoded
    once), then writes the JPEGs in :meth:`finish`."""

    def __init__(
        self,
        info: MediaInfo,
        out_dir: str | os.PathLike[str],
        *,
        positions: Sequence[float] = DEFAULT_POSITIONS,
        max_width: int = 1280,
    ) -> None:
        if info.video is None:
            raise ValueError("thumbnails need a video track")
        self.folder = Path(out_dir) / "thumbnails"
        self.width, self.height = display_size(info, max_width)
        self.targets = sorted(min(max(p, 0.0), 1.0) * info.duration for p in positions)
        self.limits = self.targets[1:] + [info.duration]
        self.index = 0
        self._first: _Pick | None = None
        self._fallback: _Pick | None = None
        self._picks: list[_Pick] = []

    @property
    def done(self) -> bool:
        return self.index >= len(self.targets)

    def __call__(self, time: float, frame: av.VideoFrame) -> None:
        """Feed one upright frame at ``time`` seconds."""
        if self.done or time < self.targets[self.index] - 1e-6:
            return
        if self._first is not None and time >= self.limits[self.index]:
            self._give_up()
            self(time, frame)
            return
        mean, spread = luma_stats(frame)
        if mean >= BLACK_LUMA:
            self._picks.append((time, frame, mean, spread))
            self._first = None
            self.index += 1
        elif self._first is None:
            self._first = (time, frame, mean, spread)

    def _give_up(self) -> None:
        """The current candidate stayed black up to the next one: drop it (keep a fallback)."""
        if self._fallback is None:
            self._fallback = self._first
        self._first = None
        self.index += 1

    def finish(self) -> ThumbnailSet:
        """Write ``thumb_NN.jpg`` candidates and ``poster.jpg`` (the most detailed one)."""
        if self._first is not None:
            self._give_up()
        picks = self._picks or ([self._fallback] if self._fallback is not None else [])
        if not picks:
            return ThumbnailSet(None, [])
        candidates = []
        for number, (time, frame, mean, _) in enumerate(picks, start=1):
            path = self.folder / f"thumb_{number:02d}.jpg"
            save_jpeg(frame, path, self.width, self.height)
            candidates.append(Thumbnail(path, time, self.width, self.height, mean))
        best = max(range(len(picks)), key=lambda i: picks[i][3])
        poster_path = self.folder / "poster.jpg"
        save_jpeg(picks[best][1], poster_path, self.width, self.height)
        poster = Thumbnail(poster_path, picks[best][0], self.width, self.height, picks[best][2])
        return ThumbnailSet(poster, candidates)


def make_thumbnails(
    src: MediaInput,
    out_dir: str | os.PathLike[str],
    info: MediaInfo | None = None,
    *,
    positions: Sequence[float] = DEFAULT_POSITIONS,
    max_width: int = 1280,
) -> ThumbnailSet:
    """Write ``out_dir/thumbnails/poster.jpg`` and ``thumb_NN.jpg`` candidates for ``src``,
    seeking to each position instead of decoding the whole video."""
    info = known_or_probed(src, info)
    if info.video is None:
        return ThumbnailSet(None, [])
    picker = ThumbnailPicker(info, out_dir, positions=positions, max_width=max_width)
    while not picker.done:
        wanted = picker.index
        with closing(upright_frames(src, info, start=picker.targets[wanted])) as frames:
            for time, frame in frames:
                picker(time, frame)
                if picker.index > wanted:
                    break
        if picker.index == wanted:
            break
    return picker.finish()
