"""Storyboards: small tiles every ``interval`` seconds packed into sprite sheets, plus a
WebVTT file whose cues point into them (``sprite_001.jpg#xywh=x,y,w,h``), for the seek-bar
preview players show while scrubbing.

Tile ``k`` shows the first frame at or after ``k * interval`` seconds and its cue runs from
there to the next tile (the last cue ends at the video's end).
"""

from __future__ import annotations

import math
import os
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import av
from PIL import Image

from pipelines.media import MediaInfo, MediaInput
from pipelines.probe import known_or_probed
from pipelines.stills import display_size, upright_frames

__all__ = ["Storyboard", "StoryboardBuilder", "make_storyboard", "vtt_timestamp"]


@dataclass(frozen=True)
class Storyboard:
    """What was written: sprite sheets, the WebVTT index, and the grid. ``interval`` is in
    seconds, tile sizes in pixels; ``tiles`` counts tiles over all sheets."""

    sprites: list[Path]
    vtt: Path
    interval: float
    tile_width: int
    tile_height: int
    columns: int
    rows: int
    tiles: int


def vtt_timestamp(seconds: float) -> str:
    """``HH:MM:SS.mmm`` as WebVTT wants it."""
    millis = int(round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


class StoryboardBuilder:
    """Collects tiles from upright frames fed in time order (by :func:`make_storyboard`, or by
    :func:`pipelines.transcode.transcode` through ``frame_sinks`` so the video is decoded once),
    then writes the sheets and the WebVTT file in :meth:`finish`."""

    def __init__(
        self,
        info: MediaInfo,
        out_dir: str | os.PathLike[str],
        *,
        interval: float = 2.0,
        tile_width: int = 160,
        columns: int = 10,
        rows: int = 10,
    ) -> None:
        if interval <= 0 or columns < 1 or rows < 1:
            raise ValueError("interval, columns and rows must be positive")
        if info.video is None:
            raise ValueError("a storyboard needs a video track")
        self.info = info
        self.folder = Path(out_dir) / "storyboard"
        self.interval, self.columns, self.rows = interval, columns, rows
        self.width, self.height = display_size(info, tile_width)
        self.count = max(1, math.ceil(info.duration / interval - 1e-9))
        self._tiles: list[Image.Image] = []

    @property
    def done(self) -> bool:
        return len(self._tiles) >= self.count

    def __call__(self, time: float, frame: av.VideoFrame) -> None:
        """Feed one upright frame at ``time`` seconds; tile ``k`` takes the first frame at or
        after ``k * interval``."""
        if self.done or time + 1e-6 < len(self._tiles) * self.interval:
            return
        image = frame.reformat(self.width, self.height, "rgb24", interpolation="AREA").to_image()
        while not self.done and time + 1e-6 >= len(self._tiles) * self.interval:
            self._tiles.append(image)

    def finish(self) -> Storyboard:
        """Write ``sprite_NNN.jpg`` sheets and ``storyboard.vtt`` (replacing older sheets)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for stale in self.folder.glob("sprite_*.jpg"):
            stale.unlink()
        per_sheet = self.columns * self.rows
        width, height = self.width, self.height
        sprites = []
        cues = ["WEBVTT", ""]
        for sheet_index in range(math.ceil(len(self._tiles) / per_sheet)):
            chunk = self._tiles[sheet_index * per_sheet : (sheet_index + 1) * per_sheet]
            used_rows = math.ceil(len(chunk) / self.columns)
            sheet = Image.new("RGB", (width * min(self.columns, len(chunk)), height * used_rows))
            name = f"sprite_{sheet_index + 1:03d}.jpg"
            for position, image in enumerate(chunk):
                x, y = (position % self.columns) * width, (position // self.columns) * height
                sheet.paste(image, (x, y))
                number = sheet_index * per_sheet + position
                start = number * self.interval
                end = min((number + 1) * self.interval, self.info.duration)
                cues += [
                    f"{vtt_timestamp(start)} --> {vtt_timestamp(end)}",
                    f"{name}#xywh={x},{y},{width},{height}",
                    "",
                ]
            path = self.folder / name
            sheet.save(path, format="JPEG", quality=80)
            sprites.append(path)
        vtt = self.folder / "storyboard.vtt"
        vtt.write_text("\n".join(cues), encoding="utf-8")
        return Storyboard(
            sprites, vtt, self.interval, width, height, self.columns, self.rows, len(self._tiles)
        )


def make_storyboard(
    src: MediaInput,
    out_dir: str | os.PathLike[str],
    info: MediaInfo | None = None,
    *,
    interval: float = 2.0,
    tile_width: int = 160,
    columns: int = 10,
    rows: int = 10,
) -> Storyboard | None:
    """Write ``out_dir/storyboard/sprite_NNN.jpg`` sheets and ``storyboard.vtt``; ``None`` for
    audio-only input. The video is decoded once, front to back."""
    info = known_or_probed(src, info)
    if info.video is None:
        return None
    builder = StoryboardBuilder(
        info, out_dir, interval=interval, tile_width=tile_width, columns=columns, rows=rows
    )
    with closing(upright_frames(src, info)) as frames:
        for time, frame in frames:
            builder(time, frame)
            if builder.done:
                break
    return builder.finish()
