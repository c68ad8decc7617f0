"""Feed items as the reader sees them: their wire form, read in a few queries per page."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.accounts.models import User
from control_plane.feed.items import followees
from control_plane.feed.models import FeedItem
from control_plane.feed.schemas import FeedEntry, FeedVideo
from control_plane.social.audience import Viewer, visible_to
from control_plane.social.models import Post
from control_plane.social.postviews import post_views
from control_plane.social.schemas import UserBrief
from control_plane.videos.models import Video

__all__ = ["MAX_REPOSTERS", "Shown", "entries"]

#: Reposters named on one entry, at most.
MAX_REPOSTERS = 3


@dataclass(frozen=True)
class Shown:
    """An item the reader may see: its subject, the share that placed it, and a ranked score."""

    subject: FeedItem
    share: FeedItem
    score: float | None = None
    #: The subject's post, when the read has it already.
    post: Post | None = None
    #: Whether the reader follows the subject's author, when the read knows it already.
    author_followed: bool | None = None


def entries(session: Session, shown: Sequence[Shown], viewer: Viewer) -> list[FeedEntry]:
    """The wire form of ``shown``, in order; an item whose post or video vanished meanwhile is
    left out."""
    assert viewer.user_id is not None
    post_ids = [s.subject.post_id for s in shown if s.subject.post_id]
    video_ids = [s.subject.video_id for s in shown if s.subject.video_id]
    posts = {s.post.id: s.post for s in shown if s.post is not None}
    missing = [i for i in post_ids if i not in posts]
    if missing:
        posts.update({p.id: p for p in session.scalars(sa.select(Post).where(Post.id.in_(missing)))})
    views = {v.id: v for v in post_views(session, list(posts.values()), viewer)}
    videos: dict[str, tuple[Video, str]] = {}
    if video_ids:
        found = session.execute(
            sa.select(Video, User.username)
            .join(User, User.id == Video.owner_id)
            .where(Video.id.in_(video_ids))
        )
        videos = {v.id: (v, name) for v, name in found}
    reposters: dict[str, list[UserBrief]] = defaultdict(list)
    reposted = [i for i in post_ids if i in posts and posts[i].reposts]
    if reposted:
        shares = session.execute(
            sa.select(Post.repost_of, User.id, User.username)
            .join(User, User.id == Post.author_id)
            .where(
                Post.repost_of.in_(reposted),
                Post.author_id.in_(followees(viewer.user_id)),
                visible_to(Post.author_id, viewer.user_id),
            )
            .order_by(Post.created_at.desc(), Post.id)
        )
        for original, user_id, username in shares:
            if original is not None and len(reposters[original]) < MAX_REPOSTERS:
                reposters[original].append(UserBrief(id=user_id, username=username))
    out = []
    for s in shown:
        if s.subject.post_id is not None:
            view = views.get(s.subject.post_id)
            if view is None:
                continue
            out.append(
                FeedEntry(
                    kind="post",
                    post=view,
                    video=None,
                    reposted_by=reposters.get(s.subject.post_id, []),
                    at=s.share.created_at,
                    score=s.score,
                )
            )
        else:
            card_of = videos.get(s.subject.video_id or "")
            if card_of is None:
                continue
            video, username = card_of
            card = FeedVideo(
                id=video.id,
                title=video.title,
                owner=UserBrief(id=video.owner_id, username=username),
                duration=video.duration,
                published_at=video.published_at or s.subject.created_at,
            )
            out.append(FeedEntry(kind="video", post=None, video=card, at=s.share.created_at, score=s.score))
    return out
