"""The likes service: likes of posts, videos and comments, idempotent, with their counts.

Liking inserts the (subject, user) row unless it exists and, only when this statement inserted
it, adds one to the subject's count in the same transaction; unliking deletes the row and, only
when this statement deleted it, takes one away. Each count therefore equals its rows under any
concurrency: the row's primary key decides who changed it, and the count changes with ``x = x + 1``.
A like of a repost is a like of its original.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.core.db import Database, utcnow
from control_plane.core.events import Event, EventHub
from control_plane.social.audience import Viewer, visible_video
from control_plane.social.comments import reachable_comment
from control_plane.social.counters import CountWriter, add, insert_new
from control_plane.social.errors import InvalidContent
from control_plane.social.events import CommentLiked, PostLiked, VideoLiked
from control_plane.social.models import Comment, CommentLike, Post, PostLike, VideoLike
from control_plane.social.postviews import reachable_post
from control_plane.videos.models import Video

__all__ = ["LikeService"]


def _toggle(session: Session, model: Any, row: dict[str, Any], liked: bool) -> int:
    """+1 if this call inserted the like, -1 if it deleted it, 0 if it was already so."""
    if liked:
        return 1 if insert_new(session, model, **row, created_at=utcnow()) else 0
    table = model.__table__
    gone = session.execute(sa.delete(table).where(*(table.c[name] == value for name, value in row.items())))
    return -1 if gone.rowcount else 0  # type: ignore[attr-defined]


class LikeService:
    """Owns the like tables and the ``likes`` counts of posts and comments; a video's ``likes``
    it changes through ``counts`` (kept on the video's row)."""

    def __init__(self, db: Database, events: EventHub, *, counts: CountWriter) -> None:
        self.db = db
        self.counts = counts
        self.events = events

    def post(self, user: Viewer, post_id: str, liked: bool) -> None:
        """Like (``liked``) or unlike the post; 404 for a post the user cannot reach."""
        assert user.user_id is not None
        with self.db.session() as session:
            post = reachable_post(session, post_id, user.user_id)
            if post.repost_of is not None:
                post = reachable_post(session, post.repost_of, user.user_id)
            change = _toggle(session, PostLike, {"post_id": post.id, "user_id": user.user_id}, liked)
            add(session, Post, Post.id == post.id, likes=change)
        self._announce(change, PostLiked(post_id=post.id, author_id=post.author_id, user_id=user.user_id))

    def video(self, user: Viewer, video_id: str, liked: bool) -> None:
        """Like or unlike the video; 404 for a video the user cannot see."""
        assert user.user_id is not None
        with self.db.session() as session:
            video = visible_video(session, video_id, user)
            change = _toggle(session, VideoLike, {"video_id": video.id, "user_id": user.user_id}, liked)
            self.counts(session, video.id, likes=change)
        self._announce(change, VideoLiked(video_id=video.id, owner_id=video.owner_id, user_id=user.user_id))

    def comment(self, user: Viewer, comment_id: str, liked: bool) -> None:
        """Like or unlike a visible comment; 404 for one the user cannot see."""
        assert user.user_id is not None
        with self.db.session() as session:
            comment = reachable_comment(session, comment_id, user)
            if comment.status != "visible":
                raise InvalidContent("A comment waiting for review cannot be liked.", code="COMMENT_HELD")
            change = _toggle(session, CommentLike, {"comment_id": comment.id, "user_id": user.user_id}, liked)
            add(session, Comment, Comment.id == comment.id, likes=change)
        liked_event = CommentLiked(
            comment_id=comment.id,
            video_id=comment.video_id,
            author_id=comment.author_id,
            user_id=user.user_id,
        )
        self._announce(change, liked_event)

    def forget(self, session: Session, user_id: str) -> None:
        """In the caller's transaction, take back every like of an account that is about to go,
        lowering the counts."""
        for model, subject, counted in (
            (PostLike, PostLike.post_id, Post),
            (CommentLike, CommentLike.comment_id, Comment),
        ):
            liked = session.execute(sa.delete(model).where(model.user_id == user_id).returning(subject))
            for subject_id in sorted(liked.scalars().all()):
                add(session, counted, counted.id == subject_id, likes=-1)
        videos = session.execute(
            sa.delete(VideoLike).where(VideoLike.user_id == user_id).returning(VideoLike.video_id)
        )
        for video_id in sorted(videos.scalars().all()):
            self.counts(session, video_id, likes=-1)

    @staticmethod
    def video_removed(session: Session, video: Video) -> None:
        """In the removing transaction, the likes of a video that goes."""
        session.execute(sa.delete(VideoLike).where(VideoLike.video_id == video.id))

    def _announce(self, change: int, event: Event) -> None:
        if change > 0:
            self.events.publish(event)
