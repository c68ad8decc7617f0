"""Turning packaged segments into renditions, playlists, the MPD and a publish order."""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.ladder import Rung
from pipelines.media import MediaInfo
from pipelines.packaging.cmaf import INIT_NAME, Segment
from pipelines.packaging.dash import write_mpd
from pipelines.packaging.hls import write_master_playlist, write_media_playlist
from pipelines.packaging.tracks import Track
from pipelines.renditions import Rendition, TranscodeResult

__all__ = [
    "video_rendition",
    "audio_rendition",
    "finish_outputs",
    "publish_order",
    "MASTER_NAME",
    "MPD_NAME",
    "PLAYLIST_NAME",
]

MASTER_NAME = "master.m3u8"
MPD_NAME = "manifest.mpd"
PLAYLIST_NAME = "playlist.m3u8"
_MANIFEST_SUFFIXES = (".m3u8", ".mpd")


def _bandwidths(segments: list[Segment]) -> tuple[int, int]:
    total_bits = sum(s.size for s in segments) * 8
    total_time = sum(s.duration for s in segments)
    average = int(total_bits / total_time) if total_time else 0
    peak = max((int(s.size * 8 / s.duration) for s in segments if s.duration > 0), default=average)
    return average, max(peak, average)


def video_rendition(rung: Rung, track: Track, segments: list[Segment], frames: int) -> Rendition:
    """A video rung's rendition record (``frames``: frames encoded)."""
    folder = segments[0].path.parent
    average, peak = _bandwidths(segments)
    return Rendition(
        name=rung.name,
        kind="video",
        codec=track.codec_string,
        bitrate=rung.video_bitrate,
        average_bandwidth=average,
        peak_bandwidth=peak,
        timescale=track.timescale,
        init=folder / INIT_NAME,
        segments=segments,
        playlist=folder / PLAYLIST_NAME,
        width=rung.width,
        height=rung.height,
        fps=rung.fps,
        frames=frames,
    )


def audio_rendition(track: Track, segments: list[Segment], bitrate: int, sample_rate: int) -> Rendition:
    """The audio rendition record (always stereo)."""
    folder = segments[0].path.parent
    average, peak = _bandwidths(segments)
    return Rendition(
        name="audio",
        kind="audio",
        codec=track.codec_string,
        bitrate=bitrate,
        average_bandwidth=average,
        peak_bandwidth=peak,
        timescale=track.timescale,
        init=folder / INIT_NAME,
        segments=segments,
        playlist=folder / PLAYLIST_NAME,
        sample_rate=sample_rate,
        channels=2,
    )


def finish_outputs(
    out_dir: Path, videos: list[Rendition], audio: Rendition | None, info: MediaInfo, segment_duration: float
) -> TranscodeResult:
    """Write media playlists, then the master playlist and the MPD (last of all)."""
    for rendition in [*videos, *([audio] if audio else [])]:
        write_media_playlist(rendition)
    # The presentation lasts as long as its longest track; audio is measured without the
    # encoder's trailing padding (never past the source's own duration).
    candidates = [r.duration for r in videos] + ([min(audio.duration, info.duration)] if audio else [])
    duration = max(candidates, default=info.duration)
    master = write_master_playlist(out_dir / MASTER_NAME, videos, audio)
    manifest = write_mpd(out_dir / MPD_NAME, videos, audio, duration)
    return TranscodeResult(
        duration=duration,
        segment_duration=segment_duration,
        renditions=videos,
        audio=audio,
        master=master,
        manifest=manifest,
        files=publish_order(out_dir),
        warnings=list(info.warnings),
    )


def publish_order(out_dir: str | os.PathLike[str]) -> list[Path]:
    """Every published file under ``out_dir`` in a safe upload order: init and media segments
    first, then media playlists, then ``master.m3u8`` and ``manifest.mpd``. Hidden work files
    are left out."""
    root = Path(out_dir)
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
    media = [p for p in files if p.suffix not in _MANIFEST_SUFFIXES]
    playlists = [p for p in files if p.suffix in _MANIFEST_SUFFIXES and p.parent != root]
    top = [root / name for name in (MASTER_NAME, MPD_NAME) if (root / name).is_file()]
    return media + playlists + top
