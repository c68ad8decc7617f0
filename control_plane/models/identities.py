"""Social-login identities: a provider's subject linked to one of our users."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.db import Base
from control_plane.models.base import UTCDateTime, new_id, utcnow

__all__ = ["OidcIdentity"]


class OidcIdentity(Base):
    """``subject`` is the provider's stable user id (``sub``, or GitHub's numeric id); a pair
    (provider, subject) belongs to exactly one user. ``email`` is what the provider last said."""

    __tablename__ = "oidc_identities"
    __table_args__ = (sa.UniqueConstraint("provider", "subject", name="uq_oidc_identities_provider_subject"),)

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    provider: Mapped[str] = mapped_column(sa.String(32))
    subject: Mapped[str] = mapped_column(sa.String(255))
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email: Mapped[str | None] = mapped_column(sa.String(254), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
