"""TOTP second factors (RFC 6238, via pyotp) with single-use recovery codes.

The TOTP secret is stored encrypted (Fernet, with a key derived from the platform secret). A code
is accepted once: the last accepted time step is kept, so a code seen by an attacker cannot be
replayed within its window.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

import pyotp
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session

from control_plane.accounts.errors import InvalidOtp, OtpRequired, TotpState
from control_plane.accounts.models import RecoveryCode, TotpFactor, User
from control_plane.core.db import utcnow

__all__ = ["TwoFactor", "RECOVERY_CODES"]

RECOVERY_CODES = 10
ISSUER = "Social Flow"


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().lower().replace("-", "").encode()).hexdigest()


class TwoFactor:
    def __init__(self, secret: bytes) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"totp:" + secret).digest()))

    def _secret(self, factor: TotpFactor) -> str:
        return self._fernet.decrypt(factor.secret_encrypted.encode()).decode()

    def setup(self, session: Session, user: User) -> tuple[str, str]:
        """Start enrolment: a new secret and its otpauth:// URI (for a QR code). Not active yet."""
        factor = session.get(TotpFactor, user.id)
        if factor is not None and factor.enabled_at is not None:
            raise TotpState("Two-factor authentication is already on; turn it off first.")
        secret = pyotp.random_base32()
        encrypted = self._fernet.encrypt(secret.encode()).decode()
        if factor is None:
            session.add(TotpFactor(user_id=user.id, secret_encrypted=encrypted, last_step=0))
        else:
            factor.secret_encrypted, factor.last_step = encrypted, 0
        uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
        return secret, uri

    def enable(self, session: Session, user: User, code: str) -> list[str]:
        """Finish enrolment with a first valid code; returns fresh recovery codes (shown once)."""
        factor = session.get(TotpFactor, user.id)
        if factor is None or factor.enabled_at is not None:
            raise TotpState("Start two-factor setup first.")
        self._check_totp(factor, code)
        factor.enabled_at = utcnow()
        session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
        codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)]
        session.add_all(RecoveryCode(code_hash=_code_hash(c), user_id=user.id) for c in codes)
        return codes

    def enabled(self, session: Session, user_id: str) -> bool:
        factor = session.get(TotpFactor, user_id)
        return factor is not None and factor.enabled_at is not None

    def verify(self, session: Session, user_id: str, *, otp: str | None, recovery_code: str | None) -> str:
        """Check the second factor of a user who has one; returns which kind was used."""
        factor = session.get(TotpFactor, user_id)
        if factor is None or factor.enabled_at is None:
            return "none"
        if otp:
            self._check_totp(factor, otp)
            return "totp"
        if recovery_code:
            code_hash = _code_hash(recovery_code)
            row = session.get(RecoveryCode, code_hash)
            if row is None or row.user_id != user_id or row.used_at is not None:
                raise InvalidOtp("That recovery code is not valid.")
            # Spent by one conditional statement, so two sign-ins racing with the same code cannot
            # both succeed (SQLite ignores FOR UPDATE). The loser's transaction is rolled back at
            # once: it must not keep the write lock while its failure is audited.
            spent = session.execute(
                sa.update(RecoveryCode)
                .where(RecoveryCode.code_hash == code_hash, RecoveryCode.used_at.is_(None))
                .values(used_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            if spent.rowcount != 1:  # type: ignore[attr-defined]
                session.rollback()
                raise InvalidOtp("That recovery code is not valid.")
            return "recovery_code"
        raise OtpRequired("Enter the code from your authenticator app (or a recovery code).")

    def disable(self, session: Session, user_id: str) -> None:
        session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
        session.execute(sa.delete(TotpFactor).where(TotpFactor.user_id == user_id))

    def _check_totp(self, factor: TotpFactor, code: str) -> None:
        totp = pyotp.TOTP(self._secret(factor))
        now = time.time()
        for drift in (0, -1, 1):  # one step of clock drift either way
            step = int(now // totp.interval) + drift
            expected = totp.at(step * totp.interval)
            if hmac.compare_digest(expected.encode(), code.strip().encode()):
                if step <= factor.last_step:
                    raise InvalidOtp("That code was already used; wait for the next one.")
                factor.last_step = step
                return
        raise InvalidOtp("That code is not valid.")
