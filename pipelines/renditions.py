"""What a transcode produced: renditions, their segments and the files to publish."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipelines.packaging.cmaf import Segment

__all__ = ["Rendition", "TranscodeResult"]


@dataclass(frozen=True)
class Rendition:
    """One packaged rendition (a video rung or the audio track).

    ``bitrate`` is the target in bits per second; ``average_bandwidth`` and ``peak_bandwidth``
    are measured over the written segments (bits per second, container overhead included).
    ``codec`` is the RFC 6381 string (``avc1.64001f``, ``mp4a.40.2``). ``frames`` counts video
    frames (``None`` for audio). Paths are absolute files under the output folder.
    """

    name: str
    kind: str
    codec: str
    bitrate: int
    average_bandwidth: int
    peak_bandwidth: int
    timescale: int
    init: Path
    segments: list[Segment]
    playlist: Path
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    frames: int | None = None
    sample_rate: int | None = None
    channels: int | None = None

    @property
    def segment_durations(self) -> list[float]:
        return [s.duration for s in self.segments]

    @property
    def segment_count(self) -> int:
        return len(self.segments)

    @property
    def duration(self) -> float:
        return sum(self.segment_durations)

    def summary(self) -> dict[str, object]:
        """JSON-ready facts for the API (``renditions: [{width, height, bitrate, codec}]``)."""
        facts: dict[str, object] = {
            "name": self.name,
            "kind": self.kind,
            "bitrate": self.bitrate,
            "codec": self.codec,
        }
        if self.kind == "video":
            facts.update(width=self.width, height=self.height, fps=self.fps)
        else:
            facts.update(sample_rate=self.sample_rate, channels=self.channels)
        return facts


@dataclass(frozen=True)
class TranscodeResult:
    """All renditions of one input. ``duration`` in seconds; ``files`` lists every written
    file in publish order (media first, playlists and manifests last)."""

    duration: float
    segment_duration: float
    renditions: list[Rendition]
    audio: Rendition | None
    master: Path
    manifest: Path
    files: list[Path]
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        """JSON-ready facts: duration (seconds), renditions, audio, manifest names relative to
        the output folder, and warnings for the creator."""
        root = self.master.parent
        return {
            "duration": round(self.duration, 3),
            "segment_duration": self.segment_duration,
            "renditions": [r.summary() for r in self.renditions],
            "audio": self.audio.summary() if self.audio else None,
            "hls": self.master.relative_to(root).as_posix(),
            "dash": self.manifest.relative_to(root).as_posix(),
            "warnings": list(self.warnings),
        }
