"""The social domain's wire shapes, shared by its services (which build them) and its routes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["CommentOut", "PostOut", "TrendOut", "UserBrief", "UserItem", "VideoBrief"]


class UserBrief(BaseModel):
    id: str
    username: str


class UserItem(UserBrief):
    """An account in a list (followers, following, blocks, mutes) and since when it is there."""

    since: datetime


class VideoBrief(BaseModel):
    id: str
    title: str


class PostOut(BaseModel):
    """A post. ``hashtags`` are the tags as first written, ``mentions`` the usernames of the
    accounts mentioned; ``video`` is null when the caller cannot see the video (or it is gone).
    ``held``: held for the moderators' review, so shown only to its author (and moderators)."""

    id: str
    author: UserBrief
    text: str
    video: VideoBrief | None
    hashtags: list[str]
    mentions: list[str]
    reply_to: str | None
    repost_of: str | None
    quote_of: str | None
    likes: int
    reposts: int
    replies: int
    created_at: datetime
    held: bool = Field(
        False, description="held for the moderators' review: only its author and moderators see it"
    )


class CommentOut(BaseModel):
    """A comment; ``parent_id`` is the top-level comment a reply belongs to."""

    id: str
    video_id: str
    author: UserBrief
    parent_id: str | None
    text: str
    status: Literal["visible", "held", "screened"] = Field(
        description=(
            "held: waiting for the video owner's review; screened: held for the moderators' review "
            "(both shown to the comment's author only)"
        )
    )
    likes: int
    replies: int
    created_at: datetime


class TrendOut(BaseModel):
    """A trending tag: ``accounts`` used it in the last 24 h, ``expected`` in the 24 h before."""

    tag: str
    name: str
    score: float
    accounts: int
    expected: int
    posts: int
