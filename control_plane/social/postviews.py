"""Posts as a viewer sees them: which posts a viewer may reach, and their wire form.

A list shows no post whose author is hidden from the viewer (blocked either way, or muted), no
post held for review (``holds.py``) but to its author, and no repost of either. A post reached by
its id is refused across a block, and while it is held to all but its author and moderators.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from control_plane.accounts.models import User
from control_plane.core.errors import NotFound
from control_plane.social.audience import LISTED, Viewer, blocked_between, visible_to
from control_plane.social.models import Post, PostMention, PostTag
from control_plane.social.schemas import PostOut, UserBrief, VideoBrief
from control_plane.videos.models import Video

__all__ = ["listed_for", "post_views", "reachable_post", "shown_to"]


def shown_to(post: Any, viewer_id: str | None) -> sa.ColumnElement[bool]:
    """True for the rows of ``post`` (``Post`` or an alias) not held for review, or the viewer's."""
    if viewer_id is None:
        return post.held.is_(False)
    return sa.or_(post.held.is_(False), post.author_id == viewer_id)


def listed_for(viewer_id: str | None) -> sa.ColumnElement[bool]:
    """True for the posts that may appear in the viewer's lists."""
    original = aliased(Post)
    hidden_original = (
        sa.select(original.id)
        .where(
            original.id == Post.repost_of,
            sa.or_(
                sa.not_(visible_to(original.author_id, viewer_id)), sa.not_(shown_to(original, viewer_id))
            ),
        )
        .exists()
    )
    return sa.and_(visible_to(Post.author_id, viewer_id), shown_to(Post, viewer_id), sa.not_(hidden_original))


def reachable_post(session: Session, post_id: str, viewer_id: str | None, *, moderator: bool = False) -> Post:
    """The post, unless it is gone, a block stands between its author and the viewer, or it is
    held for review and the viewer is neither its author nor a moderator (404)."""
    post = session.get(Post, post_id)
    if post is None or (
        viewer_id is not None
        and viewer_id != post.author_id
        and blocked_between(session, viewer_id, post.author_id)
    ):
        raise NotFound("No such post.", code="POST_NOT_FOUND")
    if post.held and not moderator and viewer_id != post.author_id:
        raise NotFound("No such post.", code="POST_NOT_FOUND")
    return post


def _shown_video(video: Video | None, viewer: Viewer) -> VideoBrief | None:
    if video is None:
        return None
    mine = viewer.moderator or video.owner_id == viewer.user_id
    if mine or (video.status == "ready" and video.visibility in LISTED):
        return VideoBrief(id=video.id, title=video.title)
    return None


def post_views(session: Session, posts: Sequence[Post], viewer: Viewer) -> list[PostOut]:
    """The wire form of ``posts`` (in order), with their authors, tags, mentions and videos read
    in one query each."""
    if not posts:
        return []
    ids = [p.id for p in posts]
    author_ids = {p.author_id for p in posts}
    names = dict(session.execute(sa.select(User.id, User.username).where(User.id.in_(author_ids))).all())
    tags: dict[str, list[str]] = defaultdict(list)
    for post_id, name in session.execute(
        sa.select(PostTag.post_id, PostTag.name)
        .where(PostTag.post_id.in_(ids))
        .order_by(PostTag.post_id, PostTag.tag)
    ):
        tags[post_id].append(name)
    mentions: dict[str, list[str]] = defaultdict(list)
    for post_id, username in session.execute(
        sa.select(PostMention.post_id, User.username)
        .join(User, User.id == PostMention.user_id)
        .where(PostMention.post_id.in_(ids))
    ):
        mentions[post_id].append(username)
    video_ids = {p.video_id for p in posts if p.video_id}
    videos: dict[str, Any] = {}
    if video_ids:
        videos = {v.id: v for v in session.execute(sa.select(Video).where(Video.id.in_(video_ids))).scalars()}
    return [
        PostOut(
            id=p.id,
            author=UserBrief(id=p.author_id, username=names.get(p.author_id, "")),
            text=p.text,
            video=_shown_video(videos.get(p.video_id or ""), viewer),
            hashtags=tags.get(p.id, []),
            mentions=sorted(mentions.get(p.id, [])),
            reply_to=p.reply_to,
            repost_of=p.repost_of,
            quote_of=p.quote_of,
            likes=p.likes,
            reposts=p.reposts,
            replies=p.replies,
            created_at=p.created_at,
            held=p.held,
        )
        for p in posts
    ]
