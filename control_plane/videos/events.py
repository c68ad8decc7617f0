"""What the video domain tells the rest of the plane through the events hub, once committed."""

from __future__ import annotations

from dataclasses import dataclass

from control_plane.core.events import Event

__all__ = ["VideoFailed", "VideoPublished", "VideoReady"]


@dataclass(frozen=True)
class VideoReady(Event):
    """The video is ``ready`` for the first time (its ``published_at`` was just set)."""

    video_id: str
    owner_id: str
    visibility: str
    title: str


@dataclass(frozen=True)
class VideoFailed(Event):
    """Processing gave up on the video; ``reason`` is written for its creator."""

    video_id: str
    owner_id: str
    reason: str


@dataclass(frozen=True)
class VideoPublished(Event):
    """The video is ready and public: it became ready while public, or public while ready."""

    video_id: str
    owner_id: str
