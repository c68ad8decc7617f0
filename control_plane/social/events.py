"""What the social domain tells the rest of the plane, through the events hub
(``control_plane.core.events``), once the change is committed.

Ids only, and the ids a subscriber would otherwise have to look up (the author of the post
replied to, the owner of the video commented on), so the feed and notifications can act without
reading this domain's tables. Mentions exclude every account that blocks or is blocked by the
author: a mention of a blocked user notifies no one.
"""

from __future__ import annotations

from dataclasses import dataclass

from control_plane.core.events import Event

__all__ = [
    "CommentDeleted",
    "CommentLiked",
    "CommentWritten",
    "PostCreated",
    "PostDeleted",
    "PostLiked",
    "UserBlocked",
    "UserFollowed",
    "UserUnfollowed",
    "VideoLiked",
]


@dataclass(frozen=True)
class UserFollowed(Event):
    follower_id: str
    followee_id: str


@dataclass(frozen=True)
class UserUnfollowed(Event):
    """A follow ended: the follower unfollowed, or a block between the two ended it."""

    follower_id: str
    followee_id: str


@dataclass(frozen=True)
class UserBlocked(Event):
    """The pair no longer follow each other; each must stop seeing the other."""

    blocker_id: str
    blocked_id: str


@dataclass(frozen=True)
class PostCreated(Event):
    """A post, reply, repost or quote. ``*_author_id`` is the author of the post it refers to."""

    post_id: str
    author_id: str
    hashtags: tuple[str, ...] = ()
    mentioned_ids: tuple[str, ...] = ()
    video_id: str | None = None
    reply_to: str | None = None
    reply_to_author_id: str | None = None
    repost_of: str | None = None
    repost_of_author_id: str | None = None
    quote_of: str | None = None
    quote_of_author_id: str | None = None


@dataclass(frozen=True)
class PostDeleted(Event):
    """The post is gone, and with it ``reposts`` (the ids of its reposts) and every like."""

    post_id: str
    author_id: str
    reposts: tuple[str, ...] = ()


@dataclass(frozen=True)
class PostLiked(Event):
    post_id: str
    author_id: str
    user_id: str


@dataclass(frozen=True)
class VideoLiked(Event):
    video_id: str
    owner_id: str
    user_id: str


@dataclass(frozen=True)
class CommentWritten(Event):
    """A comment that viewers can now see (written visible, or approved after being held)."""

    comment_id: str
    video_id: str
    video_owner_id: str
    author_id: str
    parent_id: str | None = None
    parent_author_id: str | None = None


@dataclass(frozen=True)
class CommentLiked(Event):
    comment_id: str
    video_id: str
    author_id: str
    user_id: str


@dataclass(frozen=True)
class CommentDeleted(Event):
    """The comment is gone, and with it ``replies`` (the ids of its replies)."""

    comment_id: str
    video_id: str
    author_id: str
    replies: tuple[str, ...] = ()
