"""The views domain's tables: watch sessions (raw, kept for a bounded time), watch time and views
per (video, day, country, device), the retention histogram, and the flushes already applied.

Video ids here carry no foreign key: rows are written in batches by the flush, which must not
fail because one video of the batch was deleted meanwhile. The video's remover deletes its
sessions and retention rows; ``watch_daily`` outlives the video (it is what payouts and the
channel's analytics are computed from) and keeps the owner's id for that.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.core.db import Base, UTCDateTime, utcnow

__all__ = ["ViewFlush", "ViewSession", "WatchDaily", "WatchRetention"]


class ViewSession(Base):
    """One player session of one viewer on one video, as its heartbeats left it.

    ``id`` is a hash of the video, the viewer and the player's session id. ``watched`` is the
    watch time accepted (seconds, capped at wall time); ``max_position`` the furthest position
    reached (seconds into the video); ``rolled`` is set once its position went into the
    retention histogram.
    """

    __tablename__ = "view_sessions"
    __table_args__ = (
        sa.Index("ix_view_sessions_video", "video_id", "rolled"),
        sa.Index("ix_view_sessions_last", "rolled", "last_at"),
        sa.Index("ix_view_sessions_user", "user_id", "last_at"),
    )

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    video_id: Mapped[str] = mapped_column(sa.String(32))
    owner_id: Mapped[str] = mapped_column(sa.String(32), index=True)
    #: The signed-in viewer, or None for an anonymous one.
    user_id: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)
    country: Mapped[str] = mapped_column(sa.String(2))
    device: Mapped[str] = mapped_column(sa.String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
    watched: Mapped[float] = mapped_column(sa.Float, default=0.0)
    max_position: Mapped[float] = mapped_column(sa.Float, default=0.0)
    heartbeats: Mapped[int] = mapped_column(sa.Integer, default=0)
    counted: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    rolled: Mapped[bool] = mapped_column(sa.Boolean, default=False)


class WatchDaily(Base):
    """Views and watch seconds of a video on one UTC day, from one country and one device class."""

    __tablename__ = "watch_daily"
    __table_args__ = (
        sa.Index("ix_watch_daily_owner_day", "owner_id", "day"),
        sa.Index("ix_watch_daily_day", "day"),
    )

    video_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    country: Mapped[str] = mapped_column(sa.String(2), primary_key=True)
    device: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    owner_id: Mapped[str] = mapped_column(sa.String(32))
    views: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    watch_seconds: Mapped[float] = mapped_column(sa.Float, default=0.0)


class WatchRetention(Base):
    """How many finished sessions of a video reached ``second`` and no further (a histogram of
    their furthest positions; the retention curve is its reverse cumulative sum)."""

    __tablename__ = "watch_retention"

    video_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    second: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    sessions: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class ViewFlush(Base):
    """A buffer flush applied to the database: its token is written in the same transaction as
    its counts, so a flush interrupted after the commit is never applied twice."""

    __tablename__ = "view_flushes"

    token: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
