"""What can be reported, whose it is and how far it reaches: the moderation domain reads the other
domains' rows for that, and never writes them (actions go through their services)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.accounts.models import User
from control_plane.channels.models import Channel
from control_plane.core.errors import NotFound
from control_plane.live.models import LiveStream
from control_plane.social.audience import Viewer, blocked_between, visible_video
from control_plane.social.models import Comment, Post

__all__ = ["REASONS", "Reason", "SUBJECT_TYPES", "Subject", "SubjectType", "reach_factor", "subject_of"]

SubjectType = Literal["video", "post", "comment", "user", "stream"]
SUBJECT_TYPES: tuple[str, ...] = get_args(SubjectType)
Reason = Literal[
    "spam",
    "harassment",
    "hate",
    "violence",
    "sexual",
    "child_safety",
    "self_harm",
    "misinformation",
    "copyright",
    "impersonation",
    "other",
    "automated",
]
#: How grave each reason is: the first factor of a case's severity.
REASONS: dict[str, float] = {
    "spam": 1.0,
    "harassment": 2.0,
    "hate": 3.0,
    "violence": 3.0,
    "sexual": 3.0,
    "child_safety": 5.0,
    "self_harm": 4.0,
    "misinformation": 1.5,
    "copyright": 1.5,
    "impersonation": 1.5,
    "other": 0.5,
    "automated": 1.0,
}
assert set(REASONS) == set(get_args(Reason))


@dataclass(frozen=True)
class Subject:
    type: str
    id: str
    owner_id: str
    #: How many people it reaches: views, likes and reposts, followers.
    audience: int


def reach_factor(audience: int) -> float:
    """1 for nothing seen, growing with the order of magnitude of the audience."""
    return 1.0 + math.log10(1 + max(audience, 0))


def subject_of(session: Session, subject_type: str, subject_id: str, viewer: Viewer) -> Subject:
    """The subject as the reporting ``viewer`` may see it; ``NotFound`` for what does not exist
    or what they cannot see (a private video, an account that blocked them)."""
    missing = NotFound(f"No such {subject_type}.", code="SUBJECT_NOT_FOUND")
    if subject_type == "video":
        try:
            video = visible_video(session, subject_id, viewer)
        except NotFound:
            raise missing from None
        return Subject("video", video.id, video.owner_id, int(video.views))
    if subject_type == "post":
        post = session.get(Post, subject_id)
        if post is None or (viewer.user_id and blocked_between(session, viewer.user_id, post.author_id)):
            raise missing
        return Subject("post", post.id, post.author_id, int(post.likes + post.reposts + post.replies))
    if subject_type == "comment":
        comment = session.get(Comment, subject_id)
        if comment is None:
            raise missing
        try:
            visible_video(session, comment.video_id, viewer)
        except NotFound:
            raise missing from None
        return Subject("comment", comment.id, comment.author_id, int(comment.likes + comment.replies))
    if subject_type == "user":
        user = session.get(User, subject_id)
        if user is None or (viewer.user_id and blocked_between(session, viewer.user_id, user.id)):
            raise missing
        followers = session.scalar(sa.select(Channel.followers).where(Channel.user_id == user.id))
        return Subject("user", user.id, user.id, int(followers or 0))
    if subject_type == "stream":
        stream = session.get(LiveStream, subject_id)
        if stream is None:
            raise missing
        return Subject("stream", stream.id, stream.owner_id, 0)
    raise missing
