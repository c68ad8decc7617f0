"""What Content-ID tells the rest of the plane through the events hub, once committed."""

from __future__ import annotations

from dataclasses import dataclass

from control_plane.core.events import Event

__all__ = ["ClaimDisputed", "ClaimMade", "ClaimResolved"]


@dataclass(frozen=True)
class ClaimMade(Event):
    """A match claimed ``video_id`` (of ``video_owner_id``) for ``reference_owner_id``."""

    claim_id: str
    video_id: str
    video_owner_id: str
    reference_owner_id: str
    policy: str


@dataclass(frozen=True)
class ClaimDisputed(Event):
    """The video's owner disputed the claim; the reference owner reviews it."""

    claim_id: str
    video_id: str
    video_owner_id: str
    reference_owner_id: str


@dataclass(frozen=True)
class ClaimResolved(Event):
    """A disputed claim was ``upheld`` or ``released`` by the reference owner or a moderator."""

    claim_id: str
    video_id: str
    video_owner_id: str
    status: str
