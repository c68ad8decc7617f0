"""The video domain's table: a creator's video and its processing state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.accounts.models import User
from control_plane.core.db import Base, UTCDateTime, utcnow

__all__ = ["VIDEO_STATES", "Video"]

VIDEO_STATES = ("uploading", "processing", "ready", "failed", "blocked")


class Video(Base):
    """A creator's video. Its id is the id of the upload that brought its source."""

    __tablename__ = "videos"

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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
