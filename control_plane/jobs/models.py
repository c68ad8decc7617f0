"""Background jobs as the platform sees them: what was asked, where it stands, why it failed."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.accounts.models import User
from control_plane.core.db import Base, UTCDateTime, new_id, utcnow

__all__ = ["JOB_STATES", "Job"]

JOB_STATES = ("queued", "running", "succeeded", "failed")


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(sa.String(64), index=True)
    queue: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(sa.Integer, default=1)
    owner_id: Mapped[str | None] = mapped_column(sa.ForeignKey(User.id, ondelete="SET NULL"), nullable=True)
    subject: Mapped[str | None] = mapped_column(sa.String(80), nullable=True, index=True)
    args: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    result: Mapped[dict | None] = mapped_column(sa.JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    worker: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    message_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
