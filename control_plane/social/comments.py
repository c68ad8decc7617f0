"""The comments service: comments on videos, threaded one level, held for review on request.

A reply names a comment as its parent; a reply to a reply joins the top-level comment's thread
(as YouTube does), so a thread is one level deep. The video's ``comments`` setting decides what
a new comment does: ``enabled`` shows it, ``held`` keeps it for the owner's review (the owner's
own comments are shown), ``disabled`` refuses it. A comment is deleted by its author, the video's
owner or a moderator; deleting a top-level comment deletes its replies. The video's ``comments``
count and a thread's ``replies`` count only visible comments.

A comment waiting for a review (the owner's ``held``, the moderators' ``screened``) is shown to
its author among the visible ones, in its place and with its ``status``, as YouTube shows an
author their own pending comment; nobody else sees it in a list.
"""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.accounts.models import User
from control_plane.core.db import new_id, utcnow
from control_plane.core.errors import Forbidden, NotFound
from control_plane.http.pagination import Order, PageParams, keyset_merge
from control_plane.social.announce import comment_written
from control_plane.social.audience import Viewer, visible_to, visible_video
from control_plane.social.counters import add
from control_plane.social.errors import InvalidContent
from control_plane.social.events import CommentDeleted, CommentWritten
from control_plane.social.holds import SCREENED
from control_plane.social.models import Comment, CommentLike
from control_plane.social.schemas import CommentOut, UserBrief
from control_plane.social.writer import LimitedWriter
from control_plane.videos.models import Video

__all__ = ["MAX_COMMENT", "CommentService", "comment_policy", "reachable_comment"]

MAX_COMMENT = 2000  # characters
Sort = Literal["new", "top"]
ORDERS = {
    "new": Order("comments_new", (Comment.created_at, Comment.id)),
    "top": Order("comments_top", (Comment.likes, Comment.created_at, Comment.id)),
}
THREAD = Order("comment_thread", (Comment.created_at, Comment.id), descending=False)


def comment_policy(video: Video) -> str:
    """The video's comments setting, ``comment_policy``, kept by the catalogue: ``enabled`` (also
    for a video without one), ``held`` or ``disabled``."""
    return str(getattr(video, "comment_policy", None) or "enabled")


def reachable_comment(session: Session, comment_id: str, viewer: Viewer) -> Comment:
    """The comment if the viewer may see it and its video (a held one: its author, the video's
    owner and moderators; one held by the moderators' review: its author and moderators); 404
    otherwise."""
    comment = session.get(Comment, comment_id)
    if comment is None:
        raise NotFound("No such comment.", code="COMMENT_NOT_FOUND")
    video = visible_video(session, comment.video_id, viewer)
    manager = viewer.moderator or video.owner_id == viewer.user_id
    if comment.status == "held" and not manager and comment.author_id != viewer.user_id:
        raise NotFound("No such comment.", code="COMMENT_NOT_FOUND")
    if comment.status == SCREENED and not viewer.moderator and comment.author_id != viewer.user_id:
        raise NotFound("No such comment.", code="COMMENT_NOT_FOUND")
    return comment


class CommentService(LimitedWriter):
    """Owns the comments table; changes the videos' ``comments`` (visible ones) through
    ``counts``. ``limit`` counts every comment a user writes (429 past it)."""

    def write(self, video_id: str, author: Viewer, text: str, parent_id: str | None) -> CommentOut:
        assert author.user_id is not None
        text = text.strip()
        if not text or len(text) > MAX_COMMENT:
            raise InvalidContent(f"A comment holds 1 to {MAX_COMMENT} characters.", code="COMMENT_LENGTH")
        self.limiter.hit(self.limit, author.user_id)
        with self.db.session() as session:
            video = visible_video(session, video_id, author)
            policy = comment_policy(video)
            if policy == "disabled":
                raise Forbidden("Comments are turned off on this video.", code="COMMENTS_DISABLED")
            parent = None
            if parent_id is not None:
                parent = reachable_comment(session, parent_id, author)
                if parent.video_id != video.id:
                    raise NotFound("No such comment on this video.", code="COMMENT_NOT_FOUND")
                if parent.parent_id is not None:
                    parent = reachable_comment(session, parent.parent_id, author)
            held = policy == "held" and video.owner_id != author.user_id
            comment = Comment(
                id=new_id(),
                video_id=video.id,
                author_id=author.user_id,
                parent_id=parent.id if parent else None,
                text=text,
                status="held" if held else "visible",
                created_at=utcnow(),
            )
            session.add(comment)
            session.flush()
            if not held:
                self._count(session, comment, 1)
            event = self._event(session, comment, video)
            view = self._views(session, [comment])[0]
        if not held:
            self.events.publish(event)
        return view

    def approve(self, comment_id: str, actor: Viewer) -> CommentOut:
        """Show a held comment; the video's owner or a moderator."""
        with self.db.session() as session:
            comment, video = self._managed(session, comment_id, actor)
            became_visible = comment.status == "held"
            if became_visible:
                comment.status = "visible"
                self._count(session, comment, 1)
            event = self._event(session, comment, video)
            view = self._views(session, [comment])[0]
        if became_visible:
            self.events.publish(event)
        return view

    def delete(self, comment_id: str, actor: Viewer) -> None:
        """Delete the comment (and its replies): its author, the video's owner or a moderator."""
        with self.db.session() as session:
            comment = reachable_comment(session, comment_id, actor)
            if comment.author_id != actor.user_id:
                comment, _ = self._managed(session, comment_id, actor)
            event = self._remove(session, comment)
        self.events.publish(event)

    def forget(self, session: Session, user_id: str) -> list[CommentDeleted]:
        """In the caller's transaction, delete every comment of an account that is about to go,
        with the counts they were in; returns the deletions to announce once it has committed."""
        deleted = []
        for comment_id in (
            session.execute(sa.select(Comment.id).where(Comment.author_id == user_id)).scalars().all()
        ):
            comment = session.get(Comment, comment_id)
            if comment is not None:  # not already gone with its thread
                deleted.append(self._remove(session, comment))
                session.flush()
        return deleted

    @staticmethod
    def video_removed(session: Session, video: Video) -> None:
        """In the removing transaction, the comments of a video that goes, with their likes
        (no count outside the video counts them)."""
        on_video = sa.select(Comment.id).where(Comment.video_id == video.id).scalar_subquery()
        session.execute(sa.delete(CommentLike).where(CommentLike.comment_id.in_(on_video)))
        for replies_first in (Comment.parent_id.is_not(None), sa.true()):
            session.execute(sa.delete(Comment).where(Comment.video_id == video.id, replies_first))

    def _remove(self, session: Session, comment: Comment) -> CommentDeleted:
        visible_replies = session.execute(
            sa.select(sa.func.count()).where(Comment.parent_id == comment.id, Comment.status == "visible")
        ).scalar_one()
        replies = (
            session.execute(sa.select(Comment.id).where(Comment.parent_id == comment.id)).scalars().all()
        )
        if comment.status == "visible":
            self._count(session, comment, -1)
        self.counts(session, comment.video_id, comments=-visible_replies)
        session.delete(comment)
        return CommentDeleted(
            comment_id=comment.id,
            video_id=comment.video_id,
            author_id=comment.author_id,
            replies=tuple(replies),
        )

    def _count(self, session: Session, comment: Comment, delta: int) -> None:
        self.counts(session, comment.video_id, comments=delta)
        if comment.parent_id is not None:
            add(session, Comment, Comment.id == comment.parent_id, replies=delta)

    def _managed(self, session: Session, comment_id: str, actor: Viewer) -> tuple[Comment, Video]:
        comment = reachable_comment(session, comment_id, actor)
        video = visible_video(session, comment.video_id, actor)
        if not actor.moderator and video.owner_id != actor.user_id:
            raise Forbidden("Only the video's owner or a moderator can do this.", code="NOT_VIDEO_OWNER")
        return comment, video

    @staticmethod
    def _event(session: Session, comment: Comment, video: Video) -> CommentWritten:
        return comment_written(session, comment, video.owner_id)

    # -- lists ------------------------------------------------------------------------------

    def top_level(
        self, video_id: str, viewer: Viewer, sort: Sort, page: PageParams, *, held: bool = False
    ) -> tuple[list[CommentOut], str | None]:
        """The video's top-level comments, newest or most liked first; ``held``: the ones waiting
        for review instead (the video's owner and moderators only)."""
        with self.db.session() as session:
            video = visible_video(session, video_id, viewer)
            if held and not viewer.moderator and video.owner_id != viewer.user_id:
                raise Forbidden(
                    "Only the video's owner or a moderator reviews comments.", code="NOT_VIDEO_OWNER"
                )
        if held:
            query = sa.select(Comment).where(Comment.video_id == video_id, Comment.status == "held")
            return self._page(ORDERS[sort], query, viewer, page)
        on_video = (Comment.video_id == video_id, Comment.parent_id.is_(None))
        query = sa.select(Comment).where(*on_video, Comment.status == "visible")
        return self._page(ORDERS[sort], query, viewer, page, self._pending(viewer, *on_video))

    def thread(
        self, comment_id: str, viewer: Viewer, page: PageParams
    ) -> tuple[list[CommentOut], str | None]:
        """The visible replies to a top-level comment (and the viewer's own waiting for a
        review), oldest first."""
        with self.db.session() as session:
            video_id = reachable_comment(session, comment_id, viewer).video_id
        query = sa.select(Comment).where(Comment.parent_id == comment_id, Comment.status == "visible")
        pending = self._pending(viewer, Comment.video_id == video_id, Comment.parent_id == comment_id)
        return self._page(THREAD, query, viewer, page, pending)

    @staticmethod
    def _pending(viewer: Viewer, *where: sa.ColumnElement[bool]) -> sa.Select[Any] | None:
        """The viewer's own comments among ``where`` that wait for a review, the video owner's
        (``held``) or the moderators' (``screened``): not ``visible``, the condition of
        ``ix_comments_pending`` as written (SQLite uses a partial index only for its own terms)."""
        if viewer.user_id is None:
            return None
        return sa.select(Comment).where(
            Comment.author_id == viewer.user_id, Comment.status != "visible", *where
        )

    def _page(
        self,
        order: Order,
        query: sa.Select[Any],
        viewer: Viewer,
        page: PageParams,
        pending: sa.Select[Any] | None = None,
    ) -> tuple[list[CommentOut], str | None]:
        """``query`` selects ``Comment``; this adds the order's columns and the viewer's filter,
        and merges in ``pending`` (the viewer's own comments waiting for a review), each read by
        its own index."""
        queries = [q for q in (query, pending) if q is not None]
        shown = [
            q.add_columns(*order.columns).where(visible_to(Comment.author_id, viewer.user_id))
            for q in queries
        ]
        with self.db.session() as session:
            rows, cursor = keyset_merge(session, shown, order, page)
            return self._views(session, [r[0] for r in rows]), cursor

    @staticmethod
    def _views(session: Session, comments: list[Comment]) -> list[CommentOut]:
        ids = {c.author_id for c in comments}
        names = dict(session.execute(sa.select(User.id, User.username).where(User.id.in_(ids))).all())
        return [
            CommentOut(
                id=c.id,
                video_id=c.video_id,
                author=UserBrief(id=c.author_id, username=names.get(c.author_id, "")),
                parent_id=c.parent_id,
                text=c.text,
                status=c.status,  # type: ignore[arg-type]
                likes=c.likes,
                replies=c.replies,
                created_at=c.created_at,
            )
            for c in comments
        ]
