"""Background jobs as the platform sees them: what was asked, where it stands, why it failed; and
the worker processes that run them, by their heartbeats."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.accounts.models import User
from control_plane.core.db import Base, UTCDateTime, new_id, utcnow

__all__ = ["JOB_STATES", "Job", "JobWorker"]

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
    #: The process whose in-process broker holds the job's message (its name as ``worker``); None
    #: when a shared broker (Redis, RabbitMQ) holds it. The message is lost if that process stops.
    held_by: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class JobWorker(Base):
    """A process that runs jobs, while it runs: its heartbeat, and where it runs.

    ``name`` is the process's name as jobs record it (host:pid:token, one per process start);
    ``machine`` names the host and process namespace its ``pid`` belongs to.
    """

    __tablename__ = "job_workers"

    name: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    machine: Mapped[str] = mapped_column(sa.String(255))
    pid: Mapped[int] = mapped_column(sa.Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Set when the process stopped on purpose; its jobs' messages went with it.
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
