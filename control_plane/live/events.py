"""What the live domain tells the rest of the plane through the events hub, once committed."""

from __future__ import annotations

from dataclasses import dataclass

from control_plane.core.events import Event

__all__ = ["StreamWentLive"]


@dataclass(frozen=True)
class StreamWentLive(Event):
    """A stream went from idle or ended to ``live`` (a revived session after a lost ingest is not
    a new start, and is not announced)."""

    stream_id: str
    owner_id: str
    title: str
