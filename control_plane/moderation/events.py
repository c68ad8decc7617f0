"""What the moderation domain tells the rest of the plane (notifications subscribe to these)."""

from __future__ import annotations

from dataclasses import dataclass

from control_plane.core.events import Event
from control_plane.social.events import CommentWritten, PostCreated

__all__ = ["APPEAL_PATH", "AppealDecided", "ContentHeld", "ContentReleased", "ModerationAction"]

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


@dataclass(frozen=True)
class ContentReleased(Event):
    """A moderator's decision released a post or comment the screening held (published once, by
    the decision that cleared the hold). ``announcement`` is what it tells now that it is shown
    (the social domain's ``PostCreated`` or ``CommentWritten``, built as it stands at release):
    the notifications its hold withdrew are made again from it, and nothing else re-runs (the
    feed, search and hashtags read the hold themselves)."""

    subject_type: str
    subject_id: str
    announcement: PostCreated | CommentWritten
