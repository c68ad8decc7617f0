"""The feed's tables: every item a home feed can show, under a compact integer id, and when each
reader last read their feed.

``feed_items`` mirrors the posts and public videos the feed shows with one small row each: the
``seq`` is the compact id the timelines hold (an integer costs a few bytes in a Redis listpack
where a 32-digit id costs 33), and it orders items as they were made. A row goes with its post or
video (``ON DELETE CASCADE``), so a deleted post or removed video leaves no item behind even when
no event told the feed. ``subject_seq`` is the item shown: the row's own ``seq``, or for a
repost the ``seq`` of the original, so a post reposted by many appears once.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.accounts.models import User
from control_plane.core.db import Base, UTCDateTime, utcnow
from control_plane.social.models import Post
from control_plane.videos.models import Video

__all__ = ["FeedItem", "FeedReader", "SEQ"]

#: A 64-bit integer, except on SQLite, where only ``INTEGER PRIMARY KEY`` counts by itself.
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class FeedItem(Base):
    """A post, repost or public video as the feed knows it.

    ``pushed`` says how it reaches readers: True when its author had few enough followers to be
    pushed into their timelines (the fan-out job), False when readers pull it at read time.
    ``reply_to_author_id`` is set for a reply to someone else: it reaches only the readers who
    follow both accounts (Mastodon's rule).
    """

    __tablename__ = "feed_items"
    __table_args__ = (
        sa.Index("ix_feed_items_author", "author_id", "seq"),
        sa.Index("ix_feed_items_subject", "subject_seq"),
        sa.Index("ix_feed_items_pulled", "pushed", "author_id"),
        sa.CheckConstraint("(post_id IS NULL) <> (video_id IS NULL)", name="ck_feed_items_one_subject"),
    )

    seq: Mapped[int] = mapped_column(SEQ, primary_key=True, autoincrement=True)
    post_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey(Post.id, ondelete="CASCADE"), nullable=True, unique=True
    )
    video_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey(Video.id, ondelete="CASCADE"), nullable=True, unique=True
    )
    subject_seq: Mapped[int] = mapped_column(SEQ)
    author_id: Mapped[str] = mapped_column(sa.ForeignKey(User.id, ondelete="CASCADE"))
    reply_to_author_id: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)
    pushed: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class FeedReader(Base):
    """When the user last read their home feed: the fan-out pushes only to recent readers."""

    __tablename__ = "feed_readers"

    user_id: Mapped[str] = mapped_column(sa.ForeignKey(User.id, ondelete="CASCADE"), primary_key=True)
    last_read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
