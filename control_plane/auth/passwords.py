"""Argon2id password hashes and the minimal password policy."""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from control_plane.auth.errors import WeakPassword

__all__ = ["PasswordPolicy", "hash_password", "verify_password", "needs_rehash", "DUMMY_HASH"]

_hasher = PasswordHasher()  # argon2id with the library's current recommended cost

#: Verified against when a username is unknown, so a miss costs as long as a wrong password.
DUMMY_HASH = _hasher.hash("socialflow-timing-equaliser")


@dataclass(frozen=True)
class PasswordPolicy:
    min_length: int = 8
    max_length: int = 256

    def check(self, password: str, *, username: str = "", email: str = "") -> None:
        """Raise WeakPassword with the reason when the password is not acceptable."""
        if len(password) < self.min_length:
            raise WeakPassword(f"The password must have at least {self.min_length} characters.")
        if len(password) > self.max_length:
            raise WeakPassword(f"The password must have at most {self.max_length} characters.")
        lowered = password.lower()
        if username and lowered == username.lower():
            raise WeakPassword("The password must not be the username.")
        if email and lowered == email.lower():
            raise WeakPassword("The password must not be the email address.")
        if len(set(password)) < 4:
            raise WeakPassword("The password repeats too few different characters.")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when the password matches; argon2 compares in constant time."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
