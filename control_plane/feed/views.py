"""Feed items as the reader sees them: their wire form, read in a few queries per page."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.accounts.models import User
from control_plane.core.db import UTCDateTime
from control_plane.feed.items import MAX_REPOSTERS, Item, Loaded, PostFacts, followees
from control_plane.feed.models import FeedItem
from control_plane.feed.schemas import FeedEntry, FeedVideo
from control_plane.social.audience import LISTED, Viewer, visible_to
from control_plane.social.models import Post, PostMention, PostTag
from control_plane.social.postviews import post_views
from control_plane.social.schemas import PostOut, UserBrief, VideoBrief
from control_plane.videos.models import Video

__all__ = ["MAX_REPOSTERS", "Shown", "entries"]


@dataclass(frozen=True)
class Shown:
    """An item the reader may see: its subject, the share that placed it, and a ranked score."""

    subject: FeedItem | Item
    share: FeedItem | Item
    score: float | None = None
    #: The subject's post, when the read has it already.
    post: Post | PostFacts | None = None
    #: Whether the reader follows the subject's author, when the read knows it already.
    author_followed: bool | None = None
    #: All the page's check read of the subject (its wire form needs no other query), if it did.
    loaded: Loaded | None = None


def entries(session: Session, shown: Sequence[Shown], viewer: Viewer) -> list[FeedEntry]:
    """The wire form of ``shown``, in order; an item whose post or video vanished meanwhile is
    left out. Items whose check read them whole (``loaded``) cost at most one more query for
    the page (their tags, mentions and reposters, when any of them has some); others are read."""
    assert viewer.user_id is not None
    user_id = viewer.user_id
    read = [s for s in shown if s.loaded is None]
    post_ids = [s.subject.post_id for s in read if s.subject.post_id]
    video_ids = [s.subject.video_id for s in read if s.subject.video_id]
    posts = {s.post.id: s.post for s in read if isinstance(s.post, Post)}
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
    facts = {s.loaded.post.id: s.loaded.post for s in shown if s.loaded is not None and s.loaded.post}
    reposted = [i for i in post_ids if i in posts and posts[i].reposts]
    read_here = {s.loaded.post.id: s.loaded.reposters for s in shown if s.loaded and s.loaded.post}
    reposted += [i for i, p in facts.items() if p.reposts and read_here.get(i) is None]
    extras = _extras(
        session,
        user_id,
        tagged=[i for i, p in facts.items() if p.tagged],
        mentioning=[i for i, p in facts.items() if p.mentions],
        reposted=reposted,
    )
    out = []
    for s in shown:
        at = s.share.created_at
        if s.loaded is not None:
            post, video = s.loaded.post, s.loaded.video
            if post is not None:
                view = _post_out(post, s.loaded.username, extras, viewer)
                pairs = s.loaded.reposters
                reposters = (
                    extras.reposters.get(post.id, [])
                    if pairs is None
                    else [UserBrief.model_construct(id=i, username=name) for i, name in pairs]
                )
                out.append(
                    FeedEntry.model_construct(
                        kind="post", post=view, video=None, reposted_by=reposters, at=at, score=s.score
                    )
                )
            elif video is not None:
                owner = UserBrief.model_construct(id=s.subject.author_id, username=s.loaded.username)
                card = FeedVideo.model_construct(
                    id=video.id,
                    title=video.title,
                    owner=owner,
                    duration=video.duration,
                    published_at=video.published_at or s.subject.created_at,
                )
                out.append(
                    FeedEntry.model_construct(
                        kind="video", post=None, video=card, reposted_by=[], at=at, score=s.score
                    )
                )
            continue
        if s.subject.post_id is not None:
            found_view = views.get(s.subject.post_id)
            if found_view is None:
                continue
            out.append(
                FeedEntry(
                    kind="post",
                    post=found_view,
                    video=None,
                    reposted_by=extras.reposters.get(s.subject.post_id, []),
                    at=at,
                    score=s.score,
                )
            )
        else:
            card_of = videos.get(s.subject.video_id or "")
            if card_of is None:
                continue
            found_video, username = card_of
            card = FeedVideo(
                id=found_video.id,
                title=found_video.title,
                owner=UserBrief(id=found_video.owner_id, username=username),
                duration=found_video.duration,
                published_at=found_video.published_at or s.subject.created_at,
            )
            out.append(FeedEntry(kind="video", post=None, video=card, at=at, score=s.score))
    return out


@dataclass
class _Extras:
    tags: dict[str, list[str]] = field(default_factory=dict)
    mentions: dict[str, list[str]] = field(default_factory=dict)
    reposters: dict[str, list[UserBrief]] = field(default_factory=dict)


def _extras(
    session: Session, user_id: str, *, tagged: list[str], mentioning: list[str], reposted: list[str]
) -> _Extras:
    """In one query: the tags of the posts ``tagged`` (as written, in their normalised order),
    the usernames the posts ``mentioning`` mention (sorted), and up to ``MAX_REPOSTERS``
    accounts the reader follows and sees that reposted each of ``reposted``, newest first."""
    out = _Extras()
    parts = []
    if reposted:  # first: its columns' types are the union's
        parts.append(
            sa.select(
                sa.literal("r").label("kind"),
                Post.repost_of.label("post_id"),
                User.id.label("a"),
                User.username.label("b"),
                Post.created_at.label("at"),
                Post.id.label("c"),
            )
            .join(User, User.id == Post.author_id)
            .where(
                Post.repost_of.in_(sorted(set(reposted))),
                Post.author_id.in_(followees(user_id)),
                visible_to(Post.author_id, user_id),
            )
        )
    nothing = sa.cast(sa.null(), UTCDateTime)
    if tagged:
        parts.append(
            sa.select(
                sa.literal("t"), PostTag.post_id, PostTag.name, PostTag.tag, nothing, sa.literal("")
            ).where(PostTag.post_id.in_(tagged))
        )
    if mentioning:
        parts.append(
            sa.select(
                sa.literal("m"), PostMention.post_id, User.username, User.username, nothing, sa.literal("")
            )
            .join(User, User.id == PostMention.user_id)
            .where(PostMention.post_id.in_(mentioning))
        )
    if not parts:
        return out
    query = parts[0] if len(parts) == 1 else sa.union_all(*parts)
    tags: dict[str, list[tuple[str, str]]] = defaultdict(list)
    shares: dict[str, list[tuple[Any, str, str, str]]] = defaultdict(list)
    mentions: dict[str, list[str]] = defaultdict(list)
    for kind, post_id, a, b, at, c in session.execute(query):
        if post_id is None:
            continue
        if kind == "t":
            tags[post_id].append((b, a))
        elif kind == "m":
            mentions[post_id].append(a)
        else:
            shares[post_id].append((at, c, a, b))
    out.tags = {p: [name for _, name in sorted(found)] for p, found in tags.items()}
    out.mentions = {p: sorted(found) for p, found in mentions.items()}
    for original, found in shares.items():
        found.sort(key=lambda r: r[1])  # newest first, then by id (a stable sort twice)
        found.sort(key=lambda r: r[0], reverse=True)
        out.reposters[original] = [
            UserBrief.model_construct(id=a, username=b) for _, _, a, b in found[:MAX_REPOSTERS]
        ]
    return out


def _post_out(post: PostFacts, username: str, extras: _Extras, viewer: Viewer) -> PostOut:
    """A post's wire form from what the page's check read (as ``post_views`` makes it)."""
    video = None
    if post.video_id is not None and post.video_title is not None:
        mine = viewer.moderator or post.video_owner_id == viewer.user_id
        if mine or (post.video_status == "ready" and post.video_visibility in LISTED):
            video = VideoBrief.model_construct(id=post.video_id, title=post.video_title)
    return PostOut.model_construct(
        id=post.id,
        author=UserBrief.model_construct(id=post.author_id, username=username),
        text=post.text,
        video=video,
        hashtags=extras.tags.get(post.id, []),
        mentions=extras.mentions.get(post.id, []),
        reply_to=post.reply_to,
        repost_of=post.repost_of,
        quote_of=post.quote_of,
        likes=post.likes,
        reposts=post.reposts,
        replies=post.replies,
        created_at=post.created_at,
        held=post.held,
    )
