"""Argon2id password hashes and the password policy (length, username, common passwords)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from control_plane.accounts.errors import WeakPassword

__all__ = [
    "PasswordPolicy",
    "hash_password",
    "verify_password",
    "needs_rehash",
    "common_passwords",
    "DUMMY_HASH",
]

_hasher = PasswordHasher()  # argon2id with the library's current recommended cost

#: Verified against when a username is unknown, so a miss costs as long as a wrong password.
DUMMY_HASH = _hasher.hash("socialflow-timing-equaliser")


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of the most common passwords, lowercased (see auth/data/README.md).

    Read from the package once, on first use.
    """
    text = resources.files("control_plane.accounts").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


@dataclass(frozen=True)
class PasswordPolicy:
    """What a new password must be. ``check`` is the one place it is enforced: on registration,
    password change and password reset."""

    min_length: int = 8
    max_length: int = 256
    #: Refuse passwords of the shipped common-password list (case-insensitively).
    refuse_common: bool = True

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
        if self.refuse_common and lowered in common_passwords():
            raise WeakPassword(
                "That password is one of the most common passwords, the first ones attackers try; "
                "choose another (a few unrelated words make a strong one)."
            )


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
