"""Live streams and the state changes they go through."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.accounts.models import User
from control_plane.core.db import Base, UTCDateTime, new_id, utcnow
from control_plane.videos.models import Video

__all__ = ["LIVE_STATES", "LIVE_EVENTS", "LiveStream", "LiveEvent"]

#: idle: no publisher yet; live: media is flowing; ended: the publisher left and the session is over.
LIVE_STATES = ("idle", "live", "ended")
#: What the RTMP ingest reports (``rtmp.StreamState``).
LIVE_EVENTS = ("connected", "live", "disconnected", "idle")


class LiveStream(Base):
    """A creator's live stream. The stream key itself is never stored: only its SHA-256 and a
    short prefix to find the row by."""

    __tablename__ = "live_streams"
    #: The public list of streams live now, newest first, and each owner's list of streams.
    __table_args__ = (
        sa.Index("ix_live_streams_live", "status", "started_at", "id"),
        sa.Index("ix_live_streams_owner_created", "owner_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    owner_id: Mapped[str] = mapped_column(sa.ForeignKey(User.id, ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    key_prefix: Mapped[str] = mapped_column(sa.String(16), index=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16), default="idle")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    recording_video_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey(Video.id, ondelete="SET NULL"), nullable=True
    )
    #: The most viewers watching at once (``ViewerCounter``), kept when the stream ends.
    peak_viewers: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class LiveEvent(Base):
    """One state change reported by the ingest, in the order it happened."""

    __tablename__ = "live_events"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    stream_id: Mapped[str] = mapped_column(sa.ForeignKey("live_streams.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(sa.String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
