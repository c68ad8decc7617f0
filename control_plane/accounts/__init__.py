"""Accounts: password hashing, access and refresh tokens, sign-in sessions."""

from control_plane.accounts.errors import InvalidCredentials, TokenInvalid, TokenReused
from control_plane.accounts.passwords import PasswordPolicy, hash_password, verify_password
from control_plane.accounts.service import AccountService, TokenPair
from control_plane.accounts.tokens import AccessClaims, TokenCodec

__all__ = [
    "AccessClaims",
    "AccountService",
    "InvalidCredentials",
    "PasswordPolicy",
    "TokenCodec",
    "TokenInvalid",
    "TokenPair",
    "TokenReused",
    "hash_password",
    "verify_password",
]
