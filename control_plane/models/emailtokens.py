"""Single-use tokens mailed to a user: email verification and password reset."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.db import Base
from control_plane.models.base import UTCDateTime, utcnow

__all__ = ["EMAIL_TOKEN_PURPOSES", "EmailToken"]

EMAIL_TOKEN_PURPOSES = ("verify", "reset")


class EmailToken(Base):
    """A mailed token, stored only as its SHA-256. It is good for ``purpose`` until ``expires_at``,
    once (``used_at``), and only while the user's address is still ``email``, the one it went to."""

    __tablename__ = "email_tokens"

    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(sa.String(16))
    email: Mapped[str] = mapped_column(sa.String(254))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
