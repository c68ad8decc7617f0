"""The uploads domain's table: the platform's record of each tus upload."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.accounts.models import User
from control_plane.core.db import Base, UTCDateTime, utcnow

__all__ = ["Upload"]


class Upload(Base):
    """The platform's view of a tus upload: who owns it, how far it got, when it expires.

    The bytes and the durable offset live in the upload store; ``offset`` here is the last
    offset acknowledged to the client, kept for quota and progress.
    """

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    owner_id: Mapped[str] = mapped_column(sa.ForeignKey(User.id, ondelete="CASCADE"), index=True)
    length: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    offset: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    is_partial: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    is_final: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
