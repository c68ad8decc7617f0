"""Posts and comments held for review by the moderators: the social domain's side of a hold.

The automated screening (``control_plane.moderation.screening``) holds what it flags and a
moderator's decision releases it (or removes it); both act through :class:`ReviewHolds`, in the
moderation domain's transaction. A held post (``posts.held``) is shown to its author and to
moderators only: every list (an account's posts, replies, hashtags, search, the home feed)
leaves it out for everyone else, and a repost of it too. A held comment (status ``screened``) is
left out of the video's comments and threads and no longer counted in the video's ``comments``
nor its thread's ``replies``; its author still sees it in the lists (``status`` ``screened``) and
moderators reach it by its id. Releasing puts each back where it was: nothing was deleted or
moved. What it told anyone (a mention, a reply, a comment) was withdrawn when it was held
(``ContentHeld``); a release hands back the announcement it makes once shown
(``announce.py``), for the moderation domain to publish as ``ContentReleased``.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.social.announce import comment_written, post_created
from control_plane.social.counters import CountWriter, add
from control_plane.social.events import CommentWritten, PostCreated
from control_plane.social.models import Comment, Hashtag, Post, PostTag
from control_plane.videos.models import Video

__all__ = ["SCREENED", "ReviewHolds"]

#: A comment's status while the moderators review it (``visible`` before and after).
SCREENED = "screened"


class ReviewHolds:
    """``counts`` changes a video's ``comments`` (``VideoService.add_counts``)."""

    def __init__(self, counts: CountWriter) -> None:
        self.counts = counts

    def hold(self, session: Session, subject_type: str, subject_id: str) -> bool:
        """Hold a post or comment in the caller's transaction; False when there is nothing to
        hold (gone, held already, or a comment its video's owner has not approved yet)."""
        if subject_type == "post":
            return self._post(session, subject_id, False, True, -1)
        if subject_type == "comment":
            return self._move(session, subject_id, "visible", SCREENED, -1)
        return False

    def release(
        self, session: Session, subject_type: str, subject_id: str
    ) -> PostCreated | CommentWritten | None:
        """Show a held post or comment again, in the caller's transaction; what it announces now
        that it is shown (to publish once committed), or None when it is not held (or gone)."""
        if subject_type == "post" and self._post(session, subject_id, True, False, 1):
            post = session.get(Post, subject_id)
            assert post is not None
            return post_created(session, post)
        if subject_type == "comment" and self._move(session, subject_id, SCREENED, "visible", 1):
            comment = session.get(Comment, subject_id)
            assert comment is not None
            owner = session.scalar(sa.select(Video.owner_id).where(Video.id == comment.video_id))
            return comment_written(session, comment, str(owner))
        return None

    @staticmethod
    def _post(session: Session, post_id: str, before: bool, after: bool, delta: int) -> bool:
        """``held`` ``before`` → ``after``, with the post's hashtags' counts (a tag only held posts
        carry is not offered by hashtag search); one statement decides, as for comments."""
        done = session.execute(
            sa.update(Post).where(Post.id == post_id, Post.held.is_(before)).values(held=after)
        )
        if not done.rowcount:  # type: ignore[attr-defined]
            return False
        tags = session.execute(sa.select(PostTag.tag).where(PostTag.post_id == post_id)).scalars().all()
        if tags:
            add(session, Hashtag, Hashtag.tag.in_(sorted(tags)), posts=delta)
        return True

    def _move(self, session: Session, comment_id: str, before: str, after: str, delta: int) -> bool:
        """``before`` → ``after`` for the comment, with its counts; one statement decides, so a
        concurrent hold or release changes the counts once."""
        done = session.execute(
            sa.update(Comment)
            .where(Comment.id == comment_id, Comment.status == before)
            .values(status=after)
            .returning(Comment.video_id, Comment.parent_id)
        ).first()
        if done is None:
            return False
        video_id, parent_id = done
        self.counts(session, video_id, comments=delta)
        if parent_id is not None:
            add(session, Comment, Comment.id == parent_id, replies=delta)
        return True
