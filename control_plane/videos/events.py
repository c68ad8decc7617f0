"""What the video domain tells the rest of the plane, through the events hub, once committed."""

from __future__ import annotations

from dataclasses import dataclass

from control_plane.core.events import Event

__all__ = ["VideoPublished"]


@dataclass(frozen=True)
class VideoPublished(Event):
    """The video is ready and public: it became ready while public, or public while ready."""

    video_id: str
    owner_id: str
