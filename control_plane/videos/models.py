"""The video domain's tables: a creator's video (its processing state, metadata and counts) and
its tags."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.accounts.models import User
from control_plane.core.db import Base, UTCDateTime, utcnow

__all__ = [
    "CATEGORIES",
    "COMMENT_POLICIES",
    "Category",
    "CommentPolicy",
    "VIDEO_STATES",
    "Video",
    "VideoState",
    "VideoGeoBlock",
    "VideoTag",
]

VideoState = Literal["uploading", "processing", "ready", "failed", "blocked"]
VIDEO_STATES: tuple[str, ...] = get_args(VideoState)
#: enabled: comments appear at once; held: each waits for the channel's review; disabled: none taken.
CommentPolicy = Literal["enabled", "held", "disabled"]
COMMENT_POLICIES: tuple[str, ...] = get_args(CommentPolicy)
#: The catalogue's categories (a fixed list, as PeerTube keeps one, so that browsing by one works).
Category = Literal[
    "animals",
    "art",
    "comedy",
    "education",
    "entertainment",
    "film",
    "food",
    "gaming",
    "howto",
    "kids",
    "music",
    "news",
    "nonprofit",
    "people",
    "science",
    "sports",
    "technology",
    "travel",
    "vehicles",
]
CATEGORIES: tuple[str, ...] = get_args(Category)


class Video(Base):
    """A creator's video. Its id is the id of the upload that brought its source.

    ``views``, ``likes`` and ``comments`` are counts kept on the row so that lists need no
    aggregate; ``VideoService.add_counts`` is their one writer (the domains that own views, likes
    and comments call it in the transaction that changes their rows).
    """

    __tablename__ = "videos"
    __table_args__ = (
        # The public catalogue, newest first, overall, by channel and by category; the owner's list.
        sa.Index("ix_videos_catalogue", "status", "visibility", "published_at", "id"),
        sa.Index("ix_videos_channel", "owner_id", "status", "visibility", "published_at", "id"),
        sa.Index("ix_videos_category", "category", "status", "visibility", "published_at", "id"),
        sa.Index("ix_videos_popular", "status", "visibility", "views", "id"),
        sa.Index("ix_videos_owner_created", "owner_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    owner_id: Mapped[str] = mapped_column(sa.ForeignKey(User.id, ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    filename: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="uploading", index=True)
    #: ``public``, ``unlisted`` (playable by link) or ``private`` (signed playback tokens only).
    visibility: Mapped[str] = mapped_column(sa.String(16), default="public", server_default="public")
    progress: Mapped[float] = mapped_column(sa.Float, default=0.0)
    error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    size: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    duration: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    source_key: Mapped[str | None] = mapped_column(sa.String(512), nullable=True)
    renditions: Mapped[list[dict[str, Any]] | None] = mapped_column(sa.JSON, nullable=True)
    outputs: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, nullable=True)
    description: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    category: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)
    #: A BCP 47 language tag (``en``, ``pt-BR``), or None when unknown.
    language: Mapped[str | None] = mapped_column(sa.String(35), nullable=True)
    comment_policy: Mapped[str] = mapped_column(sa.String(16), default="enabled", server_default="enabled")
    age_restricted: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    #: When the video first became ready; the catalogue's "latest" order.
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    views: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    likes: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    comments: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class VideoTag(Base):
    """One tag of a video, normalised (case-folded, no ``#``); the catalogue's tag filter reads it."""

    __tablename__ = "video_tags"
    __table_args__ = (sa.Index("ix_video_tags_tag", "tag", "video_id"),)

    video_id: Mapped[str] = mapped_column(sa.ForeignKey(Video.id, ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    #: The tag's place in the creator's list, so tags come back in the order they were given.
    position: Mapped[int] = mapped_column(sa.SmallInteger, default=0)


class VideoGeoBlock(Base):
    """A country where the video must not be shown (its owner's ``blocked_countries``)."""

    __tablename__ = "video_geoblocks"

    video_id: Mapped[str] = mapped_column(sa.ForeignKey(Video.id, ondelete="CASCADE"), primary_key=True)
    #: ISO 3166-1 alpha-2, upper case.
    country: Mapped[str] = mapped_column(sa.String(2), primary_key=True)
