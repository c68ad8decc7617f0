"""Our HLS writer: a master playlist and one VOD media playlist per rendition (RFC 8216,
version 7: fMP4 segments with ``EXT-X-MAP``). Audio is an alternate rendition group, so every
video variant shares the one audio playlist."""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.renditions import Rendition

__all__ = ["write_media_playlist", "write_master_playlist", "AUDIO_GROUP"]

AUDIO_GROUP = "audio"


def write_media_playlist(rendition: Rendition) -> Path:
    """Write ``rendition.playlist`` (segment URIs relative to it) and return its path."""
    durations = rendition.segment_durations
    target = max(1, max(int(d + 0.5) for d in durations))
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        f"#EXT-X-TARGETDURATION:{target}",
        "#EXT-X-MEDIA-SEQUENCE:1",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        f'#EXT-X-MAP:URI="{_relative(rendition.init, rendition.playlist)}"',
    ]
    for segment in rendition.segments:
        lines += [f"#EXTINF:{segment.duration:.6f},", _relative(segment.path, rendition.playlist)]
    lines.append("#EXT-X-ENDLIST")
    _atomic_text(rendition.playlist, lines)
    return rendition.playlist


def write_master_playlist(path: Path, videos: list[Rendition], audio: Rendition | None) -> Path:
    """Write the master playlist at ``path``: one ``EXT-X-STREAM-INF`` per video rendition
    (BANDWIDTH is its peak plus the audio peak), or the audio playlist alone for audio-only."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    if audio is not None and videos:
        lines.append(
            f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="{AUDIO_GROUP}",NAME="Audio",DEFAULT=YES,AUTOSELECT=YES,'
            f'CHANNELS="{audio.channels or 2}",URI="{_relative(audio.playlist, path)}"'
        )
    for video in videos:
        peak = video.peak_bandwidth + (audio.peak_bandwidth if audio else 0)
        average = video.average_bandwidth + (audio.average_bandwidth if audio else 0)
        codecs = ",".join([video.codec] + ([audio.codec] if audio else []))
        attributes = [
            f"BANDWIDTH={peak}",
            f"AVERAGE-BANDWIDTH={average}",
            f"RESOLUTION={video.width}x{video.height}",
            f'CODECS="{codecs}"',
            f"FRAME-RATE={video.fps:.3f}",
        ]
        if audio is not None:
            attributes.append(f'AUDIO="{AUDIO_GROUP}"')
        lines += ["#EXT-X-STREAM-INF:" + ",".join(attributes), _relative(video.playlist, path)]
    if not videos and audio is not None:
        lines += [
            f"#EXT-X-STREAM-INF:BANDWIDTH={audio.peak_bandwidth},"
            f'AVERAGE-BANDWIDTH={audio.average_bandwidth},CODECS="{audio.codec}"',
            _relative(audio.playlist, path),
        ]
    _atomic_text(path, lines)
    return path


def _relative(target: Path, playlist: Path) -> str:
    return Path(os.path.relpath(target, playlist.parent)).as_posix()


def _atomic_text(path: Path, lines: list[str]) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(temporary, path)
