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

from pipelines.media import MediaInfo
from pipelines.probe import probe
from pipelines.stills import display_size, upright_frames

__all__ = ["Storyboard", "make_storyboard", "vtt_timestamp"]


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


def make_storyboard(
    src: str | os.PathLike[str],
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
    if interval <= 0 or columns < 1 or rows < 1:
        raise ValueError("interval, columns and rows must be positive")
    source = Path(src)
    info = info or probe(source)
    if info.video is None:
        return None
    folder = Path(out_dir) / "storyboard"
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("sprite_*.jpg"):
        stale.unlink()
    width, height = display_size(info, tile_width)
    count = max(1, math.ceil(info.duration / interval - 1e-9))
    per_sheet = columns * rows
    tiles: list[tuple[float, Image.Image]] = []
    with closing(upright_frames(source, info)) as frames:
        for time, frame in frames:
            if len(tiles) >= count:
                break
            if time + 1e-6 >= len(tiles) * interval:
                image = _tile(frame, width, height)
                while len(tiles) < count and time + 1e-6 >= len(tiles) * interval:
                    tiles.append((time, image))
    sprites = []
    cues = ["WEBVTT", ""]
    for sheet_index in range(math.ceil(len(tiles) / per_sheet)):
        chunk = tiles[sheet_index * per_sheet : (sheet_index + 1) * per_sheet]
        used_rows = math.ceil(len(chunk) / columns)
        sheet = Image.new("RGB", (width * min(columns, len(chunk)), height * used_rows))
        name = f"sprite_{sheet_index + 1:03d}.jpg"
        for position, (_, image) in enumerate(chunk):
            x, y = (position % columns) * width, (position // columns) * height
            sheet.paste(image, (x, y))
            number = sheet_index * per_sheet + position
            start = number * interval
            end = min((number + 1) * interval, info.duration)
            cues += [
                f"{vtt_timestamp(start)} --> {vtt_timestamp(end)}",
                f"{name}#xywh={x},{y},{width},{height}",
                "",
            ]
        path = folder / name
        sheet.save(path, format="JPEG", quality=80)
        sprites.append(path)
    vtt = folder / "storyboard.vtt"
    vtt.write_text("\n".join(cues), encoding="utf-8")
    return Storyboard(sprites, vtt, interval, width, height, columns, rows, len(tiles))


def _tile(frame: av.VideoFrame, width: int, height: int) -> Image.Image:
    return frame.reformat(width, height, "rgb24", interpolation="AREA").to_image()
