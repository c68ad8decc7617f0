"""Registration, sign-in, refresh-token rotation with reuse detection, and sign-out."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from control_plane.accounts.errors import (
    EmailTaken,
    InvalidCredentials,
    InvalidOtp,
    OtpRequired,
    SessionRevoked,
    TokenInvalid,
    TokenReused,
    UsernameTaken,
)
from control_plane.accounts.models import AuditEvent, AuthSession, RefreshToken, User, username_key
from control_plane.accounts.passwords import (
    DUMMY_HASH,
    PasswordPolicy,
    hash_password,
    needs_rehash,
    verify_password,
)
from control_plane.accounts.tokens import AccessClaims, TokenCodec, hash_refresh_token, new_refresh_token
from control_plane.accounts.twofactor import TwoFactor
from control_plane.core.db import Database, utcnow
from control_plane.core.errors import BadRequest, NotFound, Unprocessable

__all__ = ["AccountService", "TokenPair", "find_user"]

log = logging.getLogger(__name__)

#: Both patterns are in the OpenAPI document too, so they avoid ``\s``, whose members differ
#: between Python and JSON Schema (ECMA) regular expressions, and are matched whole (fullmatch).
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$")
#: Any character but ``@``, controls and spaces (every Unicode space, spelt out).
_EMAIL_CHAR = r"[^@\x00-\x20\x7f-\xa0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]"
EMAIL_RE = re.compile(rf"^{_EMAIL_CHAR}{{1,64}}@{_EMAIL_CHAR}{{1,189}}\.{_EMAIL_CHAR}{{1,63}}$")


def find_user(session: sa.orm.Session, username: str) -> User | None:
    """The account named ``username`` whatever its case: the exact name first (a case duplicate
    from before names were compared case-insensitively is reached by its own spelling), then
    the one whose :func:`username_key` it shares."""
    exact = session.scalar(sa.select(User).where(User.username == username))
    if exact is not None:
        return exact
    return session.scalar(sa.select(User).where(User.username_key == username_key(username)))


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"


class AccountService:
    def __init__(
        self,
        db: Database,
        codec: TokenCodec,
        *,
        refresh_ttl: int,
        twofactor: TwoFactor,
        policy: PasswordPolicy | None = None,
    ):
        self.db = db
        self.codec = codec
        self.refresh_ttl = refresh_ttl
        self.twofactor = twofactor
        self.policy = policy or PasswordPolicy()

    def register(
        self,
        username: str,
        email: str,
        password: str,
        *,
        role: str = "creator",
        birth_date: date | None = None,
    ) -> User:
        if not USERNAME_RE.fullmatch(username):
            raise BadRequest(
                "A username has 3 to 32 letters, digits, '.', '_' or '-', starting with a letter or digit.",
                code="INVALID_USERNAME",
            )
        if not EMAIL_RE.fullmatch(email):
            raise BadRequest("That is not a valid email address.", code="INVALID_EMAIL")
        self.policy.check(password, username=username, email=email)
        if birth_date is not None and not (
            utcnow().date() - timedelta(days=130 * 366) < birth_date <= utcnow().date()
        ):
            raise Unprocessable("The birth date is in the future or too far back.", code="INVALID_BIRTH_DATE")
        user = User(
            username=username,
            email=email.lower(),
            password_hash=hash_password(password),
            role=role,
            birth_date=birth_date,
        )
        try:
            with self.db.session() as session:
                session.add(user)
        except IntegrityError as exc:
            with self.db.session() as session:
                taken = session.scalar(sa.select(User.id).where(User.username_key == username_key(username)))
            if taken:
                raise UsernameTaken("That username is taken.") from exc
            raise EmailTaken("That email address is already registered.") from exc
        self.audit("register", user_id=user.id)
        return user

    def audit(
        self,
        kind: str,
        *,
        user_id: str | None = None,
        ip: str | None = None,
        session: sa.orm.Session | None = None,
        **detail: Any,
    ) -> None:
        """Append a security event to the audit log (and to the structured log): in ``session``'s
        transaction when given (it stands or falls with the change it records), else on its own."""
        event = AuditEvent(kind=kind, user_id=user_id, ip=ip, detail=detail)
        if session is not None:
            session.add(event)
        else:
            with self.db.session() as own:
                own.add(event)
        log.info("audit %s", kind, extra={"user_id": user_id, "ip": ip})

    def login(
        self,
        username: str,
        password: str,
        *,
        user_agent: str | None = None,
        ip: str | None = None,
        otp: str | None = None,
        recovery_code: str | None = None,
    ) -> TokenPair:
        """Sign in with the password and, for users who turned it on, the second factor.
        The username is matched whatever its case (see :func:`find_user`)."""
        with self.db.session() as session:
            user = find_user(session, username)
            if user is None:
                verify_password(DUMMY_HASH, password)
                self.audit("login.failed", ip=ip, username=username[:64], reason="unknown user")
                raise InvalidCredentials("Wrong username or password.")
            if not verify_password(user.password_hash, password) or not user.is_active:
                self.audit("login.failed", user_id=user.id, ip=ip, reason="wrong password or inactive")
                raise InvalidCredentials("Wrong username or password.")
            self._second_factor(session, user.id, otp, recovery_code, ip)
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            user_id = user.id
        return self.start_session(user_id, user_agent=user_agent, ip=ip, method="password")

    def start_session(
        self, user_id: str, *, user_agent: str | None = None, ip: str | None = None, method: str = "password"
    ) -> TokenPair:
        """A new sign-in session for a user already proven (by password and second factor, or by
        a social-login provider: ``method`` names which, for the audit log)."""
        with self.db.session() as session:
            auth = AuthSession(
                user_id=user_id,
                expires_at=utcnow() + timedelta(seconds=self.refresh_ttl),
                user_agent=(user_agent or "")[:255] or None,
            )
            session.add(auth)
            session.flush()
            pair = self._issue(session, user_id, auth.id)
        self.audit("login.succeeded", user_id=user_id, ip=ip, session_id=auth.id, method=method)
        return pair

    def _second_factor(
        self,
        session: sa.orm.Session,
        user_id: str,
        otp: str | None,
        recovery_code: str | None,
        ip: str | None,
    ) -> None:
        try:
            used = self.twofactor.verify(session, user_id, otp=otp, recovery_code=recovery_code)
        except (OtpRequired, InvalidOtp) as exc:
            if isinstance(exc, InvalidOtp):
                self.audit("otp.failed", user_id=user_id, ip=ip)
            raise
        if used == "recovery_code":  # the code is spent in this transaction: log it in the same one
            self.audit("recovery_code.used", user_id=user_id, ip=ip, session=session)

    def change_password(
        self,
        user_id: str,
        current: str,
        new: str,
        *,
        keep_session: str,
        otp: str | None = None,
        recovery_code: str | None = None,
        ip: str | None = None,
    ) -> None:
        """A sensitive action: needs the current password and (if on) the second factor again.
        Every other session ends."""
        with self.db.session() as session:
            user = self._step_up(session, user_id, current, otp, recovery_code, ip, "password.change_failed")
            self.policy.check(new, username=user.username, email=user.email)
            user.password_hash = hash_password(new)
            session.execute(
                sa.update(AuthSession)
                .where(
                    AuthSession.user_id == user_id,
                    AuthSession.revoked_at.is_(None),
                    AuthSession.id != keep_session,
                )
                .values(revoked_at=utcnow(), revoked_reason="password changed")
            )
        self.audit("password.changed", user_id=user_id, ip=ip)

    def step_up(
        self,
        user_id: str,
        password: str,
        *,
        otp: str | None = None,
        recovery_code: str | None = None,
        ip: str | None = None,
        action: str,
    ) -> None:
        """Prove it is really the user before a sensitive ``action`` (a word for the audit log):
        the password and, for users who turned it on, the second factor, again."""
        with self.db.session() as session:
            self._step_up(session, user_id, password, otp, recovery_code, ip, f"{action}.step_up_failed")

    def _step_up(
        self,
        session: sa.orm.Session,
        user_id: str,
        password: str,
        otp: str | None,
        recovery_code: str | None,
        ip: str | None,
        failure: str,
    ) -> User:
        user = session.get(User, user_id)
        assert user is not None
        if not verify_password(user.password_hash, password):
            self.audit(failure, user_id=user_id, ip=ip)
            raise InvalidCredentials("The password is wrong.")
        self._second_factor(session, user_id, otp, recovery_code, ip)
        return user

    def suspend(self, user_id: str, until: datetime | None, *, by: str, reason: str) -> None:
        """Suspend the account until ``until`` (None lifts a suspension). A suspended account may
        still sign in, read and appeal; every other request is refused (``control_plane.http.deps``)."""
        with self.db.session() as session:
            session.execute(sa.update(User).where(User.id == user_id).values(suspended_until=until))
            self.audit(
                "account.suspended" if until else "account.unsuspended",
                user_id=user_id,
                session=session,
                by=by,
                until=until.isoformat() if until else None,
                reason=reason[:500],
            )

    def deactivate(self, user_id: str, *, reason: str) -> None:
        """The account stops working at once: no sign-in, every session ended (its tokens fail)."""
        with self.db.session() as session:
            session.execute(sa.update(User).where(User.id == user_id).values(is_active=False))
            session.execute(
                sa.update(AuthSession)
                .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
                .values(revoked_at=utcnow(), revoked_reason=reason[:64])
            )

    def remove_user_rows(self, session: sa.orm.Session, user_id: str) -> None:
        """Delete the user in the caller's transaction; the rows that reference it go by their
        foreign keys (``ON DELETE CASCADE``), and its audit trail is dropped but for the one
        ``account.deleted`` event the caller records (the id, nothing that names the person)."""
        session.execute(sa.delete(AuditEvent).where(AuditEvent.user_id == user_id))
        session.execute(
            sa.delete(User).where(User.id == user_id).execution_options(synchronize_session=False)
        )

    def _issue(self, session: sa.orm.Session, user_id: str, session_id: str) -> TokenPair:
        refresh = new_refresh_token()
        session.add(RefreshToken(token_hash=hash_refresh_token(refresh), session_id=session_id))
        access, ttl = self.codec.issue(user_id, session_id)
        return TokenPair(access_token=access, refresh_token=refresh, expires_in=ttl)

    def refresh(self, refresh_token: str, *, ip: str | None = None) -> TokenPair:
        """Rotate: the presented token is spent; presenting a spent one revokes its whole family."""
        token_hash = hash_refresh_token(refresh_token)
        with self.db.session() as session:
            row = session.get(RefreshToken, token_hash)
            if row is None:
                raise TokenInvalid("Unknown refresh token.")
            auth = session.get(AuthSession, row.session_id)
            if auth is None or auth.revoked_at is not None:
                raise SessionRevoked("This session has ended; sign in again.")
            if auth.expires_at <= utcnow():
                raise SessionRevoked("This session has expired; sign in again.")
            # Spend the token with a conditional update, so of two concurrent refreshes only one wins.
            spent: sa.CursorResult[Any] = session.execute(  # type: ignore[assignment]
                sa.update(RefreshToken)
                .where(RefreshToken.token_hash == token_hash, RefreshToken.used_at.is_(None))
                .values(used_at=utcnow())
            )
            if spent.rowcount != 1:
                auth.revoked_at, auth.revoked_reason = utcnow(), "refresh token reuse"
                session.commit()
                log.warning("refresh token reuse; session revoked", extra={"session_id": auth.id})
                self.audit("token.reuse", user_id=auth.user_id, ip=ip, session_id=auth.id)
                raise TokenReused("This refresh token was already used; the session was ended for safety.")
            auth.last_seen_at = utcnow()
            return self._issue(session, auth.user_id, auth.id)

    def authenticate(self, access_token: str) -> tuple[User, AccessClaims]:
        """The signed-in user of a valid access token whose session is still open."""
        claims = self.codec.verify(access_token)
        with self.db.session() as session:
            auth = session.get(AuthSession, claims.session_id)
            if auth is None or auth.revoked_at is not None or auth.user_id != claims.user_id:
                raise SessionRevoked("This session has ended; sign in again.")
            user = session.get(User, claims.user_id)
            if user is None or not user.is_active:
                raise SessionRevoked("This account is not active.")
            session.expunge(user)
        return user, claims

    def logout(self, claims: AccessClaims, *, ip: str | None = None) -> None:
        with self.db.session() as session:
            auth = session.get(AuthSession, claims.session_id)
            if auth is not None and auth.revoked_at is None:
                auth.revoked_at, auth.revoked_reason = utcnow(), "logout"
        self.audit("logout", user_id=claims.user_id, ip=ip, session_id=claims.session_id)

    def sessions(self, user_id: str) -> list[AuthSession]:
        """The user's open sign-in sessions, newest first."""
        with self.db.session() as session:
            rows = list(
                session.scalars(
                    sa.select(AuthSession)
                    .where(
                        AuthSession.user_id == user_id,
                        AuthSession.revoked_at.is_(None),
                        AuthSession.expires_at > utcnow(),
                    )
                    .order_by(AuthSession.created_at.desc())
                )
            )
            session.expunge_all()
            return rows

    def end_session(self, user_id: str, session_id: str, *, ip: str | None = None) -> None:
        """End one of the user's own sessions; another user's session is NotFound."""
        with self.db.session() as session:
            auth = session.get(AuthSession, session_id)
            if auth is None or auth.user_id != user_id or auth.revoked_at is not None:
                raise NotFound("No such session.", code="SESSION_NOT_FOUND")
            auth.revoked_at, auth.revoked_reason = utcnow(), "ended by user"
        self.audit("session.ended", user_id=user_id, ip=ip, session_id=session_id)

    def end_all_sessions(self, user_id: str, *, ip: str | None = None) -> int:
        """Sign out everywhere: every session of the user ends at once; returns how many."""
        with self.db.session() as session:
            result: sa.CursorResult[Any] = session.execute(  # type: ignore[assignment]
                sa.update(AuthSession)
                .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
                .values(revoked_at=utcnow(), revoked_reason="signed out everywhere")
            )
        self.audit("logout.all", user_id=user_id, ip=ip, sessions=result.rowcount)
        return int(result.rowcount)

    def set_role(self, username: str, role: str) -> User:
        from control_plane.accounts.models import ROLES

        if role not in ROLES:
            raise BadRequest(f"unknown role {role!r}; one of {', '.join(ROLES)}", code="UNKNOWN_ROLE")
        with self.db.session() as session:
            user = find_user(session, username)
            if user is None:
                raise BadRequest(f"no user named {username!r}", code="UNKNOWN_USER")
            previous, user.role = user.role, role
        self.audit("role.changed", user_id=user.id, previous=previous, role=role)
        return user
