"""The accounts domain's tables: users, sign-in sessions and refresh tokens, second factors,
social-login identities, mailed single-use tokens and the audit log of security events."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, validates

from control_plane.core.db import Base, UTCDateTime, new_id, utcnow

__all__ = [
    "ROLES",
    "username_key",
    "User",
    "AuthSession",
    "RefreshToken",
    "AuditEvent",
    "EMAIL_TOKEN_PURPOSES",
    "EmailToken",
    "OidcIdentity",
    "TotpFactor",
    "RecoveryCode",
]

#: Roles in increasing order of power. An advertiser can do what a creator does (an ad's creative
#: is an ordinary upload) and also run ad campaigns; moderators and admins can do both.
ROLES = ("viewer", "creator", "advertiser", "moderator", "admin")


def username_key(username: str) -> str:
    """What two usernames are compared by: NFKC, case folded, NFKC again (Unicode's NFKC_Casefold
    as PRECIS usernames compare), so ``alice``, ``ALICE`` and ``Ａｌｉｃｅ`` are one name. Usernames
    are ASCII today (letters, digits, ``.``, ``_``, ``-``), where this is ``lower()``."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())


class User(Base):
    """An account. ``username`` is shown as its owner typed it; ``username_key`` (set with it) is
    unique, so names that differ only by case are one name. A case duplicate made before names
    were compared this way keeps ``#<id>`` as its key: it signs in by its exact name only."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(sa.String(32), unique=True, index=True)
    username_key: Mapped[str] = mapped_column(sa.String(64), unique=True, index=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(16), default="creator")
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    #: When the user proved they receive mail at ``email``; None until then.
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: Given at sign-up; None for accounts made before it was asked (they count as not adult).
    birth_date: Mapped[date | None] = mapped_column(sa.Date, nullable=True)
    #: A moderator's suspension: until then the account may sign in, read and appeal, nothing else.
    suspended_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def suspended(self) -> bool:
        """Whether a moderator's suspension holds now (see ``suspended_until``)."""
        return self.suspended_until is not None and self.suspended_until > utcnow()

    @validates("username")
    def _keyed(self, _field: str, username: str) -> str:
        self.username_key = username_key(username)
        return username


class AuthSession(Base):
    """One sign-in: the family of every refresh token rotated from it. Revoking it ends them all."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)


class RefreshToken(Base):
    """A refresh token, stored only as its SHA-256. ``used_at`` set means it was rotated away."""

    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(sa.ForeignKey("auth_sessions.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(sa.String(48), index=True)
    user_id: Mapped[str | None] = mapped_column(sa.String(32), nullable=True, index=True)
    ip: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)


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


class TotpFactor(Base):
    """``enabled_at`` is set once the user proved they can produce codes; ``last_step`` stops replays."""

    __tablename__ = "totp_factors"

    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    secret_encrypted: Mapped[str] = mapped_column(sa.String(255))
    enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_step: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecoveryCode(Base):
    __tablename__ = "recovery_codes"

    code_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
