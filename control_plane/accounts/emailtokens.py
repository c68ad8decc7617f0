"""Email verification and password reset by mailed, single-use, expiring tokens.

A token is 256 random bits; only its SHA-256 is stored. It is good once, until it expires, and only
while the account's address is still the one it was mailed to. A new mail of the same purpose voids
the user's older unused tokens of that purpose. A password reset ends every session of the user.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.accounts.errors import EmailAlreadyVerified, EmailTokenExpired, EmailTokenInvalid
from control_plane.accounts.models import AuthSession, EmailToken, User
from control_plane.accounts.passwords import PasswordPolicy, hash_password
from control_plane.core.db import Database, utcnow
from control_plane.core.mail import Mail, Outbox

__all__ = ["EmailTokens", "hash_email_token"]

log = logging.getLogger(__name__)

#: Audit(kind, user_id=..., ip=..., **detail), as AccountService.audit.
Audit = Callable[..., None]


def hash_email_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@dataclass(frozen=True)
class MailedLinks:
    """The pages behind the mailed links, under the public URL: the control plane serves them
    (control_plane/accounts/routes/pages.py), and they spend the token through the same service as the API."""

    public_url: str

    def verify(self, token: str) -> str:
        return f"{self.public_url}/verify-email?token={token}"

    def reset(self, token: str) -> str:
        return f"{self.public_url}/reset-password?token={token}"


class EmailTokens:
    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        *,
        public_url: str,
        verification_ttl: int,
        reset_ttl: int,
        audit: Audit,
        policy: PasswordPolicy | None = None,
    ) -> None:
        """``verification_ttl`` and ``reset_ttl`` are seconds."""
        self.db = db
        self.outbox = outbox
        self.links = MailedLinks(public_url.rstrip("/"))
        self.verification_ttl = verification_ttl
        self.reset_ttl = reset_ttl
        self.audit = audit
        self.policy = policy or PasswordPolicy()

    def _issue(self, session: Session, user: User, purpose: str, ttl: int) -> str:
        """A new token for the user's current address; older unused ones of the purpose are void."""
        session.execute(
            sa.delete(EmailToken).where(
                EmailToken.user_id == user.id, EmailToken.purpose == purpose, EmailToken.used_at.is_(None)
            )
        )
        token = secrets.token_urlsafe(32)
        session.add(
            EmailToken(
                token_hash=hash_email_token(token),
                user_id=user.id,
                purpose=purpose,
                email=user.email,
                expires_at=utcnow() + timedelta(seconds=ttl),
            )
        )
        return token

    def send_verification(self, user_id: str, *, ip: str | None = None) -> None:
        """Mail a verification link to the user's address. Raises EmailAlreadyVerified,
        MailNotConfigured, or the enqueue's error (the token then stays unsent, harmlessly)."""
        with self.db.session() as session:
            user = session.get(User, user_id)
            if user is None:
                raise LookupError(f"user {user_id} not found")
            if user.email_verified_at is not None:
                raise EmailAlreadyVerified("This account's email address is already verified.")
            token = self._issue(session, user, "verify", self.verification_ttl)
            to, username = user.email, user.username
        self.outbox.post(
            Mail(
                to=to,
                subject="Confirm your email address",
                text=(
                    f"Hello {username},\n\n"
                    "please confirm that this is your email address by opening this link:\n\n"
                    f"{self.links.verify(token)}\n\n"
                    f"The link works once, for {_duration(self.verification_ttl)}. If you did not "
                    "create an account, ignore this mail.\n"
                ),
            ),
            subject=f"user:{user_id}",
        )
        self.audit("email.verification_sent", user_id=user_id, ip=ip)

    def _token(self, session: Session, token: str, purpose: str) -> tuple[EmailToken, User]:
        """The token's row and user if the token is good now (without spending it)."""
        row = session.get(EmailToken, hash_email_token(token))
        if row is None or row.purpose != purpose:
            raise EmailTokenInvalid("This link is not valid; ask for a new one.")
        if row.used_at is not None:
            raise EmailTokenInvalid("This link was already used; ask for a new one.")
        if row.expires_at <= utcnow():
            raise EmailTokenExpired("This link has expired; ask for a new one.")
        user = session.get(User, row.user_id)
        if user is None or not user.is_active or user.email != row.email:
            raise EmailTokenInvalid("This link was sent to an address the account no longer has.")
        return row, user

    def _spend(self, session: Session, row: EmailToken) -> None:
        """Mark the token used, so of two concurrent uses only one wins."""
        spent: sa.CursorResult[Any] = session.execute(  # type: ignore[assignment]
            sa.update(EmailToken)
            .where(EmailToken.token_hash == row.token_hash, EmailToken.used_at.is_(None))
            .values(used_at=utcnow())
        )
        if spent.rowcount != 1:
            raise EmailTokenInvalid("This link was already used; ask for a new one.")

    def verify_email(self, token: str, *, ip: str | None = None) -> str:
        """Spend a verification token; the account's address counts as verified. Returns the user id."""
        with self.db.session() as session:
            row, user = self._token(session, token, "verify")
            self._spend(session, row)
            user.email_verified_at = utcnow()
            user_id = user.id
        self.audit("email.verified", user_id=user_id, ip=ip)
        return user_id

    def request_reset(self, email: str, *, ip: str | None = None) -> None:
        """Mail a reset link if an active account has this address; say nothing either way."""
        with self.db.session() as session:
            user = session.scalar(sa.select(User).where(User.email == email.strip().lower()))
            found = None
            if user is not None and user.is_active:
                found = (
                    user.id,
                    user.email,
                    user.username,
                    self._issue(session, user, "reset", self.reset_ttl),
                )
        if found is None:
            self.audit("password_reset.unknown_address", ip=ip)
            return
        user_id, to, username, token = found
        self.outbox.post(
            Mail(
                to=to,
                subject="Reset your password",
                text=(
                    f"Hello {username},\n\n"
                    "someone, hopefully you, asked to reset the password of your account. Choose a new "
                    "password by opening this link:\n\n"
                    f"{self.links.reset(token)}\n\n"
                    f"The link works once, for {_duration(self.reset_ttl)}, and signs you out everywhere. "
                    "If you did not ask for it, ignore this mail: your password stays as it is.\n"
                ),
            ),
            subject=f"user:{user_id}",
        )
        self.audit("password_reset.requested", user_id=user_id, ip=ip)

    def confirm_reset(self, token: str, new_password: str, *, ip: str | None = None) -> str:
        """Spend a reset token and set the new password (policy checked first, so a refused password
        leaves the link usable). Every session of the user ends. Returns the user id."""
        with self.db.session() as session:
            row, user = self._token(session, token, "reset")
            self.policy.check(new_password, username=user.username, email=user.email)
            self._spend(session, row)
            user.password_hash = hash_password(new_password)
            if user.email_verified_at is None:
                # Following the mailed link proves the address, as a verification link would.
                user.email_verified_at = utcnow()
            ended: sa.CursorResult[Any] = session.execute(  # type: ignore[assignment]
                sa.update(AuthSession)
                .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
                .values(revoked_at=utcnow(), revoked_reason="password reset")
            )
            user_id = user.id
        self.audit("password_reset.completed", user_id=user_id, ip=ip, sessions_ended=ended.rowcount)
        return user_id
