"""Stream keys: secret random tokens of which only a SHA-256 and a lookup prefix are stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["KEY_PREFIX_LENGTH", "new_stream_key", "key_prefix", "key_hash", "key_matches", "well_formed"]

#: Characters of a key kept in clear to find its row; the rest (32 random bytes) stays secret.
KEY_PREFIX_LENGTH = 12
_MARK = "sk_"


def new_stream_key() -> str:
    """A fresh key: ``sk_`` and 43 URL-safe characters (256 random bits), safe in an RTMP path."""
    return _MARK + secrets.token_urlsafe(32)


def key_prefix(key: str) -> str:
    return key[:KEY_PREFIX_LENGTH]


def key_hash(key: str) -> str:
    """The hex SHA-256 of the key. The key has 256 random bits, so no slow hash is needed."""
    return hashlib.sha256(key.encode()).hexdigest()


def key_matches(key: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented key with a stored hash."""
    return hmac.compare_digest(key_hash(key), stored_hash)


def well_formed(key: str) -> bool:
    """Whether ``key`` could be one of ours (shape only): refuses junk before any database query."""
    return key.startswith(_MARK) and 20 <= len(key) <= 64 and all(c.isalnum() or c in "-_" for c in key)
