"""What a probe learns about an input file, and the limits an input must respect."""

from __future__ import annotations

import io
import os
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["MediaInput", "MediaLimits", "VideoInfo", "AudioInfo", "MediaInfo"]

MediaInput = str | os.PathLike[str] | io.IOBase
"""An input to read: a local path, or a seekable binary file object (read from its start)."""


@dataclass(frozen=True)
class MediaLimits:
    """Upper bounds an upload must respect; ``None`` disables a bound.

    ``max_duration`` is in seconds, ``max_width``/``max_height`` in display pixels (after
    rotation, so a portrait 1080x1920 phone video fits a 1920x1080 limit only if both are
    at least 1920), ``max_fps`` in frames per second and ``max_bytes`` in bytes.
    """

    max_duration: float | None = 4 * 3600.0
    max_width: int | None = 7680
    max_height: int | None = 7680
    max_fps: float | None = 240.0
    max_bytes: int | None = None


@dataclass(frozen=True)
class VideoInfo:
    """The first decodable video stream.

    ``width``/``height`` are coded pixels; ``display_width``/``display_height`` are what a
    viewer sees once the sample aspect ratio is applied and the picture is turned upright.
    ``rotation`` is the counter-clockwise turn in degrees (0, 90, 180 or 270) the picture needs.
    ``fps`` is the average frame rate; ``is_vfr`` is a guess from packet timestamps.
    """

    codec: str
    width: int
    height: int
    display_width: int
    display_height: int
    sample_aspect_ratio: tuple[int, int]
    rotation: int
    fps: float
    is_vfr: bool
    interlaced: bool
    pix_fmt: str
    stream_index: int


@dataclass(frozen=True)
class AudioInfo:
    """The first decodable audio stream; ``sample_rate`` in Hz."""

    codec: str
    channels: int
    layout: str
    sample_rate: int
    stream_index: int


@dataclass(frozen=True)
class MediaInfo:
    """A probe's verdict. ``duration`` is the decodable duration in seconds (which can be
    shorter than the header claims when the tail is cut off: see ``warnings``), ``size`` the
    file size in bytes, ``format_name`` the demuxer's name."""

    path: str
    format_name: str
    size: int
    duration: float
    video: VideoInfo | None
    audio: AudioInfo | None
    warnings: list[str] = field(default_factory=list)

    @property
    def is_audio_only(self) -> bool:
        return self.video is None and self.audio is not None

    def to_json(self) -> dict[str, Any]:
        """This probe as JSON-ready values; :meth:`from_json` gives back an equal ``MediaInfo``."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MediaInfo:
        """The ``MediaInfo`` that :meth:`to_json` wrote ``data`` from (after a JSON round trip)."""
        video = data["video"]
        if video is not None:
            video = VideoInfo(**{**video, "sample_aspect_ratio": tuple(video["sample_aspect_ratio"])})
        audio = AudioInfo(**data["audio"]) if data["audio"] is not None else None
        return cls(**{**data, "video": video, "audio": audio, "warnings": list(data["warnings"])})
