"""The home feed's wire shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from control_plane.social.schemas import PostOut, UserBrief

__all__ = ["FeedEntry", "FeedVideo"]


class FeedVideo(BaseModel):
    """A public video in the feed; ``duration`` is seconds."""

    id: str
    title: str
    owner: UserBrief
    duration: float | None
    published_at: datetime


class FeedEntry(BaseModel):
    """One item of the home feed: a post (``post``) or a new public video (``video``).

    A post reposted by accounts the caller follows appears once, with those accounts in
    ``reposted_by`` (newest first); ``at`` is when the share that placed it was made (the post,
    or its latest repost). ``score`` is the ranked feed's score (null in ``following``).
    """

    kind: Literal["post", "video"]
    post: PostOut | None
    video: FeedVideo | None
    reposted_by: list[UserBrief] = Field(default_factory=list)
    at: datetime
    score: float | None = None
