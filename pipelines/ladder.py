"""Per-title bitrate ladders: which renditions to encode for one input.

Rungs are named by their SHORT side (a 1080x1920 portrait video is "1080p"), so portrait and
landscape inputs get the same ladder. Rules: never upscale (an input between two standard rungs
gets a top rung at its own size), keep the display aspect ratio (non-square pixels and rotation
applied, output pixels are square), even dimensions, and frame rate capped by an integer divisor
so that frame times stay regular (120 -> 60, 59.94 -> 29.97 under a cap of 30).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from fractions import Fraction

import av

from pipelines.media import MediaInfo

__all__ = [
    "LadderConfig",
    "Rung",
    "build_ladder",
    "pick_h264_encoder",
    "fps_fraction",
    "DEFAULT_BITRATES",
]

log = logging.getLogger(__name__)

DEFAULT_BITRATES: dict[int, tuple[int, int]] = {
    2160: (14_000_000, 20_000_000),
    1440: (8_000_000, 12_000_000),
    1080: (5_000_000, 7_500_000),
    720: (2_800_000, 4_200_000),
    480: (1_400_000, 2_000_000),
    360: (800_000, 1_200_000),
    240: (400_000, 600_000),
}
"""H.264 video bits per second for a 16:9 rung at (30 fps, 60 fps), keyed by short side."""

_EFFICIENCY = {"h264": 1.0, "hevc": 0.65, "av1": 0.5}
_DEFAULT_ENCODER = {"h264": "libx264", "hevc": "libx265", "av1": "libsvtav1"}
_NTSC = [Fraction(24000, 1001), Fraction(30000, 1001), Fraction(60000, 1001), Fraction(120000, 1001)]


@dataclass(frozen=True)
class LadderConfig:
    """How to build ladders. Bitrates in bits per second, frame rates in frames per second.

    ``rungs`` are short-side sizes; ``bitrates`` maps each to its (30 fps, 60 fps) H.264 rate
    (other codecs are scaled by their efficiency); ``high_fps_min_size`` is the smallest rung
    that keeps a frame rate above 30 (smaller rungs are halved to save bits).
    """

    rungs: tuple[int, ...] = (2160, 1440, 1080, 720, 480, 360, 240)
    bitrates: dict[int, tuple[int, int]] = field(default_factory=lambda: dict(DEFAULT_BITRATES))
    max_fps: float = 60.0
    high_fps_min_size: int = 720
    codec: str = "h264"
    encoder: str | None = None
    preset: str = "veryfast"
    audio_bitrate: int = 128_000

    def __post_init__(self) -> None:
        if self.codec not in _EFFICIENCY:
            raise ValueError(f"codec must be one of {sorted(_EFFICIENCY)}, not {self.codec!r}")
        missing = [size for size in self.rungs if size not in self.bitrates]
        if missing:
            raise ValueError(f"no bitrate configured for rungs {missing}")


@dataclass(frozen=True)
class Rung:
    """One video rendition. ``width``/``height`` in square pixels (both even), ``fps`` in
    frames per second, bitrates in bits per second, ``codec`` the family ("h264", "hevc",
    "av1"), ``encoder`` the FFmpeg encoder name, ``preset`` its speed/quality preset,
    ``threads`` the encoder's threads (0: the encoder picks, for x264 1.5 per CPU core; set
    it when several processes share the cores, e.g. chunked runs)."""

    name: str
    width: int
    height: int
    fps: float
    video_bitrate: int
    audio_bitrate: int
    codec: str = "h264"
    encoder: str = "libx264"
    preset: str = "veryfast"
    threads: int = 0


def build_ladder(info: MediaInfo, config: LadderConfig | None = None) -> list[Rung]:
    """The rungs for ``info``, largest first; ``[]`` for an audio-only input."""
    config = config or LadderConfig()
    video = info.video
    if video is None:
        return []
    display_w, display_h = video.display_width, video.display_height
    source_short = min(display_w, display_h)
    standard = sorted((s for s in config.rungs if s < source_short), reverse=True)
    top = min(source_short, max(config.rungs))
    sizes = [top] + [s for s in standard if s < top * 0.9]
    encoder = config.encoder or _DEFAULT_ENCODER[config.codec]
    rungs = []
    for short in sizes:
        width, height = _dimensions(display_w, display_h, short, exact=short == source_short)
        fps = _capped_fps(video.fps, config.max_fps if short >= config.high_fps_min_size else 30.0)
        name = f"{min(width, height)}p" + (f"{round(fps)}" if fps > 30.5 else "")
        rungs.append(
            Rung(
                name=name,
                width=width,
                height=height,
                fps=fps,
                video_bitrate=_bitrate(config, width, height, fps),
                audio_bitrate=config.audio_bitrate,
                codec=config.codec,
                encoder=encoder,
                preset=config.preset,
            )
        )
    return rungs


def _even(value: float, *, floor: bool) -> int:
    even = int(value // 2) * 2 if floor else int(round(value / 2)) * 2
    return max(2, even)


def _dimensions(display_w: int, display_h: int, short: int, *, exact: bool) -> tuple[int, int]:
    """Even width and height whose short side is ``short`` at the display aspect ratio.
    ``exact`` (the source's own size) rounds down so the output never exceeds the input."""
    if display_w >= display_h:
        return _even(short * display_w / display_h, floor=exact), _even(short, floor=True)
    return _even(short, floor=True), _even(short * display_h / display_w, floor=exact)


def _capped_fps(fps: float, cap: float) -> float:
    divisor = 1
    while fps / divisor > cap + 0.01:
        divisor += 1
    return round(float(fps_fraction(fps) / divisor), 3)


def _bitrate(config: LadderConfig, width: int, height: int, fps: float) -> int:
    short = min(width, height)
    reference = min((s for s in config.bitrates if s >= short), default=max(config.bitrates))
    low, high = config.bitrates[reference]
    per_fps = low + (high - low) * min(max(fps - 30.0, 0.0), 30.0) / 30.0
    reference_pixels = reference * reference * 16 / 9
    scaled = per_fps * (width * height) / reference_pixels * _EFFICIENCY[config.codec]
    return int(round(scaled / 1000.0)) * 1000


def fps_fraction(fps: float) -> Fraction:
    """An exact rational frame rate for ``fps``: NTSC rates snap to n*1000/1001."""
    for rate in _NTSC:
        if abs(float(rate) - fps) < 0.006:
            return rate
    return Fraction(fps).limit_denominator(1000)


@functools.cache
def pick_h264_encoder() -> str:
    """'h264_nvenc' when PyAV can actually open it (a usable NVIDIA GPU), else 'libx264'."""
    try:
        ctx = av.CodecContext.create("h264_nvenc", "w")
        ctx.width, ctx.height = 256, 144
        ctx.pix_fmt = "yuv420p"
        ctx.time_base = Fraction(1, 30)
        ctx.open()
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        log.info("h264_nvenc unavailable (%s); using libx264", exc)
        return "libx264"
    return "h264_nvenc"
