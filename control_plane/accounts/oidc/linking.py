"""Which user a provider identity signs in as: linked already, linked now by a verified email on
both sides, refused (an unverified address on either side: no silent takeover), or a new user.
Also the user's list of linked identities and unlinking one (never the last way to sign in)."""

from __future__ import annotations

import re
import secrets

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from control_plane.accounts.models import OidcIdentity, User, username_key
from control_plane.accounts.oidc.client import Identity
from control_plane.accounts.oidc.errors import (
    OidcAccountExists,
    OidcAccountInactive,
    OidcEmailRequired,
    OidcIdentityNotFound,
    OidcIdentityTaken,
    OidcLastSignIn,
)
from control_plane.accounts.oidc.providers import ProviderConfig
from control_plane.accounts.service import AccountService
from control_plane.core.db import Database, utcnow

__all__ = ["IdentityLinks", "NO_PASSWORD", "ROLE"]

#: The password hash of users made by social login: matches no password (argon2 refuses it).
NO_PASSWORD = "!oidc"
#: The role of a user made by social login: the same as password registration gives, so the way
#: an account was opened never changes what it may do.
ROLE = "creator"
_USERNAME_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")


class IdentityLinks:
    def __init__(self, db: Database, accounts: AccountService) -> None:
        self.db = db
        self.accounts = accounts

    def user_for(
        self, config: ProviderConfig, identity: Identity, link_user_id: str | None, ip: str | None
    ) -> str:
        """The user this identity signs in as (linking or creating one as the rules say)."""
        for attempt in range(3):
            try:
                user_id, event = self._match(config, identity, link_user_id)
                break
            except IntegrityError:
                # Two callbacks of the same new identity, or a username taken meanwhile: look again.
                if attempt == 2:
                    raise
        if event:
            self.accounts.audit(
                event, user_id=user_id, ip=ip, provider=config.name, subject=identity.subject[:64]
            )
        with self.db.session() as session:
            user = session.get(User, user_id)
            active = user is not None and user.is_active
        if not active:
            self.accounts.audit("login.failed", user_id=user_id, ip=ip, reason="inactive", method="oidc")
            raise OidcAccountInactive("This account is disabled.")
        return user_id

    def _match(
        self, config: ProviderConfig, identity: Identity, link_user_id: str | None
    ) -> tuple[str, str | None]:
        with self.db.session() as session:
            row = session.scalar(
                sa.select(OidcIdentity).where(
                    OidcIdentity.provider == config.name, OidcIdentity.subject == identity.subject
                )
            )
            if row is not None:
                if link_user_id and row.user_id != link_user_id:
                    raise OidcIdentityTaken(f"That {config.display_name} account is linked to another user.")
                row.last_used_at = utcnow()
                row.email = identity.email or row.email
                return row.user_id, None
            if link_user_id:
                session.add(self._identity(config, identity, link_user_id))
                return link_user_id, "oidc.linked"
            if identity.email is None:
                raise OidcEmailRequired(
                    f"{config.display_name} did not share an email address; allow it there and try again."
                )
            local = session.scalar(sa.select(User).where(User.email == identity.email))  # stored lowercase
            if local is not None:
                if identity.email_verified and local.email_verified_at is not None:
                    session.add(self._identity(config, identity, local.id))
                    return local.id, "oidc.linked"
                self.accounts.audit(
                    "oidc.link_refused",
                    user_id=local.id,
                    provider=config.name,
                    provider_verified=identity.email_verified,
                    local_verified=local.email_verified_at is not None,
                )
                raise OidcAccountExists(
                    "An account with this email address exists, but the address is not verified on both "
                    f"sides. Sign in with your password, then link {config.display_name} from your account."
                )
            user = User(
                username=self._username(session, identity),
                email=identity.email,
                password_hash=NO_PASSWORD,
                role=ROLE,
                email_verified_at=utcnow() if identity.email_verified else None,
            )
            session.add(user)
            session.flush()
            session.add(self._identity(config, identity, user.id))
            return user.id, "oidc.user_created"

    @staticmethod
    def _identity(config: ProviderConfig, identity: Identity, user_id: str) -> OidcIdentity:
        return OidcIdentity(
            provider=config.name, subject=identity.subject, user_id=user_id, email=identity.email
        )

    @staticmethod
    def _username(session: sa.orm.Session, identity: Identity) -> str:
        """A free username from the provider's hints: 3 to 32 of [A-Za-z0-9_.-], starting alnum."""
        base = "user"
        local_part = identity.email.split("@", 1)[0] if identity.email else None
        for hint in (identity.username_hint, local_part, identity.name):
            cleaned = _USERNAME_CHARS.sub("", (hint or "").replace(" ", ".")).lstrip("._-")[:24]
            if len(cleaned) >= 3:
                base = cleaned
                break
        candidates = [base] + [f"{base}-{secrets.randbelow(10_000):04d}" for _ in range(6)]
        candidates.append(f"{base[:16]}-{secrets.token_hex(6)}")
        for candidate in candidates:
            taken = session.scalar(sa.select(User.id).where(User.username_key == username_key(candidate)))
            if taken is None:
                return candidate
        return f"user-{secrets.token_hex(8)}"

    def identities(self, user_id: str) -> list[OidcIdentity]:
        with self.db.session() as session:
            rows = list(
                session.scalars(
                    sa.select(OidcIdentity)
                    .where(OidcIdentity.user_id == user_id)
                    .order_by(OidcIdentity.created_at)
                )
            )
            session.expunge_all()
            return rows

    def unlink(self, user_id: str, identity_id: str, *, ip: str | None = None) -> None:
        """Remove one of the user's identities, unless it is their last way to sign in."""
        with self.db.session() as session:
            row = session.get(OidcIdentity, identity_id)
            if row is None or row.user_id != user_id:
                raise OidcIdentityNotFound("No such linked identity.")
            user = session.get(User, user_id)
            others = session.scalar(
                sa.select(sa.func.count())
                .select_from(OidcIdentity)
                .where(OidcIdentity.user_id == user_id, OidcIdentity.id != identity_id)
            )
            has_password = user is not None and user.password_hash.startswith("$argon2")
            if not others and not has_password:
                raise OidcLastSignIn(
                    "This is your only way to sign in; set a password or link another first."
                )
            provider = row.provider
            session.delete(row)
        self.accounts.audit("oidc.unlinked", user_id=user_id, ip=ip, provider=provider)
