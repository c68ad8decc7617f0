"""Signed JWT access tokens (HS256) and opaque refresh tokens.

Access tokens carry ``sub`` (user id), ``sid`` (sign-in session), ``jti``, ``iat``, ``exp``,
``aud`` and ``iss``, and a ``kid`` header naming the signing key so keys can be rotated.
Refresh tokens are random strings; only their SHA-256 is stored.

Signing keys are derived from the secret key per purpose (access tokens, playback tokens), and
each has an id. ``KeyRing`` signs with the current secret's key and verifies with the current
and the previous secrets' keys (``SOCIALFLOW_PREVIOUS_SECRET_KEYS``), so a rotation signs out
nobody: tokens of the old key stay valid until they expire.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass

import jwt

from control_plane.accounts.errors import TokenExpired, TokenInvalid

__all__ = ["AccessClaims", "KeyRing", "TokenCodec", "new_refresh_token", "hash_refresh_token"]

AUDIENCE = "socialflow-api"
ALGORITHM = "HS256"


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    session_id: str
    jti: str
    expires_at: int


class KeyRing:
    """HS256 keys for one ``purpose``: ``current`` signs, every key (current and previous) verifies.

    A key id is a hash of the secret and the purpose, never the key itself.
    """

    def __init__(self, secret: bytes, previous: tuple[bytes, ...] = (), *, purpose: str = "jwt") -> None:
        def kid(s: bytes) -> str:
            # The access-token ids are kept as they were before purposes existed.
            label = b"kid:" if purpose == "jwt" else f"kid:{purpose}:".encode()
            return hashlib.sha256(label + s).hexdigest()[:16]

        self.current = kid(secret)
        self.keys = {
            kid(s): hashlib.sha256(purpose.encode() + b":" + s).digest() for s in (*previous, secret)
        }

    def signing_key(self) -> bytes:
        return self.keys[self.current]

    def verifying_key(self, token: str) -> bytes:
        """The key named by the token's ``kid``; TokenInvalid for a malformed token, another
        algorithm than HS256 (``none`` included) or a key id this ring does not hold."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenInvalid("The token is malformed.") from exc
        key = self.keys.get(str(header.get("kid")))
        if key is None or header.get("alg") != ALGORITHM:
            raise TokenInvalid("The token was not signed by a key this server knows.")
        return key


class TokenCodec:
    """Signs with the current key; verifies with any key it knows by id."""

    def __init__(self, secret: bytes, *, issuer: str, ttl: int, previous: tuple[bytes, ...] = ()) -> None:
        self.issuer = issuer
        self.ttl = ttl
        self.ring = KeyRing(secret, previous, purpose="jwt")

    @property
    def kid(self) -> str:
        """The id of the key new tokens are signed with."""
        return self.ring.current

    def issue(self, user_id: str, session_id: str) -> tuple[str, int]:
        """Return (token, lifetime in seconds)."""
        now = int(time.time())
        claims = {
            "sub": user_id,
            "sid": session_id,
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + self.ttl,
            "aud": AUDIENCE,
            "iss": self.issuer,
            "typ": "access",
        }
        token = jwt.encode(claims, self.ring.signing_key(), algorithm=ALGORITHM, headers={"kid": self.kid})
        return token, self.ttl

    def verify(self, token: str) -> AccessClaims:
        """Raise TokenInvalid or TokenExpired unless the token is ours, intact and current."""
        key = self.ring.verifying_key(token)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=self.issuer,
                options={"require": ["sub", "sid", "jti", "exp", "iat", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenExpired("The access token has expired; refresh it.") from exc
        except jwt.PyJWTError as exc:
            raise TokenInvalid("The access token is invalid.") from exc
        if claims.get("typ") != "access":
            raise TokenInvalid("This is not an access token.")
        return AccessClaims(str(claims["sub"]), str(claims["sid"]), str(claims["jti"]), int(claims["exp"]))


def new_refresh_token() -> str:
    return "rt_" + secrets.token_urlsafe(40)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
