"""What the moderation domain tells the rest of the plane (notifications subscribe to these)."""

from __future__ import annotations

from dataclasses import dataclass

from control_plane.core.events import Event

__all__ = ["APPEAL_PATH", "AppealDecided", "ContentHeld", "ModerationAction"]

#: Where the owner of acted-on content appeals.
APPEAL_PATH = "/api/v1/moderation/appeals"


@dataclass(frozen=True)
class ModerationAction(Event):
    """A moderator acted on ``owner_id``'s subject: notify them with the reason and the appeal
    path (``POST {appeal_path}`` with ``case_id``). ``until`` is an ISO time for a suspension."""

    case_id: str
    owner_id: str
    subject_type: str
    subject_id: str
    action: str
    reason: str
    note: str | None = None
    until: str | None = None
    appeal_path: str = APPEAL_PATH


@dataclass(frozen=True)
class AppealDecided(Event):
    appeal_id: str
    case_id: str
    owner_id: str
    decision: str


@dataclass(frozen=True)
class ContentHeld(Event):
    """The screening held a post or comment for review (``subject_type`` ``post`` or ``comment``):
    what was told about it (a mention, a reply, a comment) is withdrawn from the inboxes."""

    subject_type: str
    subject_id: str
