"""The events a post or comment announces once people can see it, built from its stored rows.

``CommentService`` announces a comment when it is written visible or approved; ``ReviewHolds``
announces a post or comment again when the moderators release it from the screening's hold (what
it told before was withdrawn when it was held). Built as the content stands then: a mention of an
account that has since gone, or that a block now separates from the author, tells no one.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.accounts.models import User
from control_plane.social.audience import blocked_between
from control_plane.social.events import CommentWritten, PostCreated
from control_plane.social.models import Comment, Post, PostMention, PostTag

__all__ = ["comment_written", "post_created"]


def post_created(session: Session, post: Post) -> PostCreated:
    """``post`` as ``PostService.create`` announced it, with its tags, the mentioned accounts
    its author may reach and the authors of the posts it replies to or quotes."""
    tags = session.execute(
        sa.select(PostTag.tag).where(PostTag.post_id == post.id).order_by(PostTag.tag)
    ).scalars()
    mentioned = session.execute(
        sa.select(PostMention.user_id)
        .join(User, User.id == PostMention.user_id)
        .where(PostMention.post_id == post.id, User.is_active.is_(True), User.id != post.author_id)
        .order_by(PostMention.user_id)
    ).scalars()
    refs: dict[str, str | None] = {}
    for field, ref in (
        ("reply_to", post.reply_to),
        ("quote_of", post.quote_of),
        ("repost_of", post.repost_of),
    ):
        if ref is not None:
            refs[field] = ref
            refs[f"{field}_author_id"] = session.scalar(sa.select(Post.author_id).where(Post.id == ref))
    return PostCreated(
        post_id=post.id,
        author_id=post.author_id,
        hashtags=tuple(tags),
        mentioned_ids=tuple(u for u in mentioned if not blocked_between(session, post.author_id, u)),
        video_id=post.video_id,
        **refs,
    )


def comment_written(session: Session, comment: Comment, video_owner_id: str) -> CommentWritten:
    """``comment`` as shown to viewers, with the author of the comment it replies to."""
    parent_author = None
    if comment.parent_id is not None:
        parent_author = session.execute(
            sa.select(Comment.author_id).where(Comment.id == comment.parent_id)
        ).scalar_one_or_none()
    return CommentWritten(
        comment_id=comment.id,
        video_id=comment.video_id,
        video_owner_id=video_owner_id,
        author_id=comment.author_id,
        parent_id=comment.parent_id,
        parent_author_id=parent_author,
    )
