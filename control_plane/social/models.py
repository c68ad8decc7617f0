"""The social domain's tables: the graph (follows, blocks, mutes), posts with their hashtags and
mentions, comments on videos, and likes.

Counters (``likes``, ``replies``, ``reposts``) are denormalised: the service that inserts or
deletes a row changes its counter in the same transaction, with an atomic ``x = x + 1``, so they
equal the rows they count under any concurrency. An account's and a video's counts (followers,
posts, a video's likes and comments) are kept the same way on the channel's and the video's rows,
by the domains that own them. Foreign keys name the models they reference.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.accounts.models import User
from control_plane.core.db import Base, UTCDateTime, new_id, utcnow
from control_plane.videos.models import Video

__all__ = [
    "COMMENT_STATES",
    "Block",
    "Comment",
    "CommentLike",
    "Follow",
    "Hashtag",
    "HashtagTrend",
    "Mute",
    "Post",
    "PostLike",
    "PostMention",
    "PostTag",
    "VideoLike",
]


def _user() -> sa.ForeignKey:
    """A user reference that goes with its user."""
    return sa.ForeignKey(User.id, ondelete="CASCADE")


def _video() -> sa.ForeignKey:
    """A video reference that goes with its video."""
    return sa.ForeignKey(Video.id, ondelete="CASCADE")


COMMENT_STATES = ("visible", "held")
#: The comments a video's list shows: top-level and visible (its partial indexes' condition).
TOP_LEVEL_SHOWN = sa.text("parent_id IS NULL AND status = 'visible'")
#: The comments waiting for a review (the owner's or the moderators'), shown only to their authors
#: among the visible ones: few, so their index is small.
PENDING = sa.text("status <> 'visible'")
#: PostgreSQL's ``varchar_pattern_ops`` index for hashtag prefix search, made by the migration.
Base.metadata.info.setdefault("unmapped", set()).add("index:ix_hashtags_tag_pattern")


def _counter() -> Mapped[int]:
    return mapped_column(sa.Integer, default=0, server_default="0")


class Follow(Base):
    __tablename__ = "follows"
    __table_args__ = (sa.Index("ix_follows_followee", "followee_id", "created_at", "follower_id"),)

    follower_id: Mapped[str] = mapped_column(_user(), primary_key=True)
    followee_id: Mapped[str] = mapped_column(_user(), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Block(Base):
    """``blocker_id`` and ``blocked_id`` are hidden from each other everywhere."""

    __tablename__ = "blocks"

    blocker_id: Mapped[str] = mapped_column(_user(), primary_key=True)
    blocked_id: Mapped[str] = mapped_column(_user(), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Mute(Base):
    """``muted_id``'s content is hidden from ``muter_id``, who alone knows."""

    __tablename__ = "mutes"

    muter_id: Mapped[str] = mapped_column(_user(), primary_key=True)
    muted_id: Mapped[str] = mapped_column(_user(), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Post(Base):
    """A post: text, or a repost (``repost_of``, no text) of another post.

    Deleting a post deletes its reposts (cascade); its replies and quotes stay, their
    ``reply_to`` / ``quote_of`` emptied.
    """

    __tablename__ = "posts"
    __table_args__ = (
        sa.Index("ix_posts_author", "author_id", "created_at", "id"),
        sa.Index("ix_posts_reply_to", "reply_to", "created_at", "id"),
        sa.UniqueConstraint("repost_of", "author_id", name="uq_posts_repost_author"),
    )

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    author_id: Mapped[str] = mapped_column(_user())
    text: Mapped[str] = mapped_column(sa.Text, default="")
    video_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey(Video.id, ondelete="SET NULL"), nullable=True, index=True
    )
    reply_to: Mapped[str | None] = mapped_column(
        sa.ForeignKey("posts.id", ondelete="SET NULL"), nullable=True
    )
    repost_of: Mapped[str | None] = mapped_column(
        sa.ForeignKey("posts.id", ondelete="CASCADE"), nullable=True
    )
    quote_of: Mapped[str | None] = mapped_column(
        sa.ForeignKey("posts.id", ondelete="SET NULL"), nullable=True, index=True
    )
    likes: Mapped[int] = _counter()
    reposts: Mapped[int] = _counter()
    replies: Mapped[int] = _counter()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: Held for review by the moderators (the automated screening flagged it): shown to its
    #: author and moderators only until released (``PostService.hold`` / ``release``).
    held: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())


class PostTag(Base):
    """A hashtag of a post: ``tag`` is the normalised form, ``author_id`` and ``created_at`` copy
    the post's so trends and tag timelines read one table."""

    __tablename__ = "post_tags"
    __table_args__ = (
        sa.Index("ix_post_tags_tag", "tag", "created_at", "post_id"),
        sa.Index("ix_post_tags_created", "created_at"),
    )

    post_id: Mapped[str] = mapped_column(sa.ForeignKey(Post.id, ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    #: The tag as this post spells it.
    name: Mapped[str] = mapped_column(sa.String(100))
    author_id: Mapped[str] = mapped_column(_user())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PostMention(Base):
    __tablename__ = "post_mentions"

    post_id: Mapped[str] = mapped_column(sa.ForeignKey(Post.id, ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(_user(), primary_key=True, index=True)


class Hashtag(Base):
    """Every tag ever used: its display form (as first written) and how many posts carry it."""

    __tablename__ = "hashtags"

    tag: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    posts: Mapped[int] = _counter()
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HashtagTrend(Base):
    """A tag's standing in the trends, as the last ``hashtags.trends`` run computed it."""

    __tablename__ = "hashtag_trends"
    __table_args__ = (sa.Index("ix_hashtag_trends_score", "score", "tag"),)

    tag: Mapped[str] = mapped_column(sa.ForeignKey(Hashtag.tag, ondelete="CASCADE"), primary_key=True)
    #: The decayed score (0 once it is not trending).
    score: Mapped[float] = mapped_column(sa.Float, default=0.0)
    max_score: Mapped[float] = mapped_column(sa.Float, default=0.0)
    max_score_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Distinct accounts that used the tag in the last 24 h, and in the 24 h before.
    accounts: Mapped[int] = _counter()
    expected: Mapped[int] = _counter()
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Comment(Base):
    """A comment on a video; a reply has the top-level comment it belongs to as ``parent_id``."""

    __tablename__ = "comments"
    __table_args__ = (
        sa.Index("ix_comments_video", "video_id", "parent_id", "created_at", "id"),
        # A video's shown top-level comments in each order the list has, read in index order
        # (PostgreSQL does not follow ix_comments_video's order past ``parent_id IS NULL``).
        sa.Index(
            "ix_comments_video_new",
            "video_id",
            "created_at",
            "id",
            postgresql_where=TOP_LEVEL_SHOWN,
            sqlite_where=TOP_LEVEL_SHOWN,
        ),
        sa.Index(
            "ix_comments_video_top",
            "video_id",
            "likes",
            "created_at",
            "id",
            postgresql_where=TOP_LEVEL_SHOWN,
            sqlite_where=TOP_LEVEL_SHOWN,
        ),
        sa.Index("ix_comments_parent", "parent_id", "created_at", "id"),
        sa.Index(
            "ix_comments_pending",
            "author_id",
            "video_id",
            postgresql_where=PENDING,
            sqlite_where=PENDING,
        ),
    )

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    video_id: Mapped[str] = mapped_column(_video())
    author_id: Mapped[str] = mapped_column(_user(), index=True)
    parent_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("comments.id", ondelete="CASCADE"), nullable=True
    )
    text: Mapped[str] = mapped_column(sa.Text)
    #: ``visible``, ``held`` for the video owner's review or ``screened`` for the moderators'.
    status: Mapped[str] = mapped_column(sa.String(8), default="visible")
    likes: Mapped[int] = _counter()
    replies: Mapped[int] = _counter()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PostLike(Base):
    __tablename__ = "post_likes"

    post_id: Mapped[str] = mapped_column(sa.ForeignKey(Post.id, ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(_user(), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VideoLike(Base):
    __tablename__ = "video_likes"

    video_id: Mapped[str] = mapped_column(_video(), primary_key=True)
    user_id: Mapped[str] = mapped_column(_user(), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CommentLike(Base):
    __tablename__ = "comment_likes"

    comment_id: Mapped[str] = mapped_column(sa.ForeignKey(Comment.id, ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(_user(), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
