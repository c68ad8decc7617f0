"""Content-ID: rights holders' references and the claims matched against uploads."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.accounts.models import User
from control_plane.core.db import Base, UTCDateTime, new_id, utcnow
from control_plane.videos.models import Video

__all__ = ["POLICIES", "CLAIM_STATES", "Reference", "Claim"]

POLICIES = ("track", "monetize", "block")
#: active: in force; disputed: the uploader disputes it; upheld / released: a reviewer decided.
CLAIM_STATES = ("active", "disputed", "upheld", "released")


class Reference(Base):
    """A video registered by its owner as a reference. ``id`` is the fingerprint index's id."""

    __tablename__ = "contentid_references"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    video_id: Mapped[str] = mapped_column(sa.ForeignKey(Video.id, ondelete="CASCADE"), unique=True)
    owner_id: Mapped[str] = mapped_column(sa.ForeignKey(User.id, ondelete="CASCADE"), index=True)
    policy: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16), default="indexing")  # indexing, active, removed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Claim(Base):
    """A match of more than the claim threshold between an upload and a reference. Times in seconds."""

    __tablename__ = "contentid_claims"
    __table_args__ = (sa.UniqueConstraint("video_id", "reference_id", name="uq_claim_video_reference"),)

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    video_id: Mapped[str] = mapped_column(sa.ForeignKey(Video.id, ondelete="CASCADE"), index=True)
    reference_id: Mapped[int] = mapped_column(
        sa.ForeignKey("contentid_references.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(16))  # audio, video, or audio+video when merged
    query_start: Mapped[float] = mapped_column(sa.Float)
    reference_start: Mapped[float] = mapped_column(sa.Float)
    duration: Mapped[float] = mapped_column(sa.Float)
    score: Mapped[float] = mapped_column(sa.Float)
    policy: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16), default="active")
    dispute_reason: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
