"""The moderation domain's tables: cases (one open case per reported subject, with its severity),
the reports that opened or joined them, appeals of the actions taken, and the restrictions a
video carries (``demonetized``; age restriction is the video's own column)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.accounts.models import User
from control_plane.core.db import Base, UTCDateTime, new_id, utcnow

__all__ = ["Appeal", "Case", "Report", "VideoRestriction", "Watermark"]


class Case(Base):
    """What moderators triage: a subject (``video``, ``post``, ``comment``, ``user``, ``stream``)
    and every report of it while the case is open. ``source`` is ``reports`` or ``screening``
    (opened by the automated pre-screening, which ``held`` the subject until a decision)."""

    __tablename__ = "moderation_cases"
    __table_args__ = (
        sa.Index("ix_moderation_cases_queue", "status", "severity", "id"),
        sa.Index("ix_moderation_cases_subject", "subject_type", "subject_id", "status"),
    )

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    subject_type: Mapped[str] = mapped_column(sa.String(16))
    subject_id: Mapped[str] = mapped_column(sa.String(32))
    #: The account whose content (or who) the subject is; notified of the decision.
    owner_id: Mapped[str] = mapped_column(sa.ForeignKey(User.id, ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="open")
    source: Mapped[str] = mapped_column(sa.String(16), default="reports")
    held: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    severity: Mapped[float] = mapped_column(sa.Float, default=0.0)
    reporters: Mapped[int] = mapped_column(sa.Integer, default=0)
    #: The heaviest reason reported (its weight sets the severity).
    reason: Mapped[str] = mapped_column(sa.String(32))
    action: Mapped[str | None] = mapped_column(sa.String(16), nullable=True)
    #: What the action did exactly (``age``, ``demonetize``, a suspension's end), for the appeal.
    detail: Mapped[dict[str, object]] = mapped_column(sa.JSON, default=dict)
    note: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Report(Base):
    """One account's report of a subject (``reporter_id`` None: the automated screening)."""

    __tablename__ = "moderation_reports"
    __table_args__ = (
        sa.UniqueConstraint("case_id", "reporter_id", name="uq_moderation_reports_case_reporter"),
        sa.Index("ix_moderation_reports_reporter", "reporter_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(sa.ForeignKey(Case.id, ondelete="CASCADE"), index=True)
    reporter_id: Mapped[str | None] = mapped_column(sa.ForeignKey(User.id, ondelete="CASCADE"), nullable=True)
    reason: Mapped[str] = mapped_column(sa.String(32))
    note: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Appeal(Base):
    """The owner's appeal of a case's action; ``status`` open, ``upheld`` or ``reversed``."""

    __tablename__ = "moderation_appeals"
    __table_args__ = (sa.Index("ix_moderation_appeals_status", "status", "created_at", "id"),)

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(sa.ForeignKey(Case.id, ondelete="CASCADE"), unique=True)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey(User.id, ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16), default="open")
    resolved_by: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VideoRestriction(Base):
    """A restriction a moderator put on a video beyond its columns: ``demonetized`` (payments
    ask :meth:`ModerationService.demonetized` before paying out for it)."""

    __tablename__ = "video_restrictions"

    video_id: Mapped[str] = mapped_column(sa.ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    case_id: Mapped[str] = mapped_column(sa.ForeignKey(Case.id, ondelete="CASCADE"))


class Watermark(Base):
    """How far the screening job has read a source (``posts``, ``comments``, ``videos``)."""

    __tablename__ = "moderation_watermarks"

    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
