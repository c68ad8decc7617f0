"""Signed JWT access tokens (HS256) and opaque refresh tokens.

Access tokens carry ``sub`` (user id), ``sid`` (sign-in session), ``jti``, ``iat``, ``exp``,
``aud`` and ``iss``, and a ``kid`` header naming the signing key so keys can be rotated.
Refresh tokens are random strings; only their SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass

import jwt

from control_plane.auth.errors import TokenExpired, TokenInvalid

__all__ = ["AccessClaims", "TokenCodec", "new_refresh_token", "hash_refresh_token"]

AUDIENCE = "socialflow-api"
ALGORITHM = "HS256"


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    session_id: str
    jti: str
    expires_at: int


class TokenCodec:
    """Signs with the current key; verifies with any key it knows by id."""

    def __init__(self, secret: bytes, *, issuer: str, ttl: int) -> None:
        self.issuer = issuer
        self.ttl = ttl
        self._kid = hashlib.sha256(b"kid:" + secret).hexdigest()[:16]
        self._keys = {self._kid: hashlib.sha256(b"jwt:" + secret).digest()}

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
        token = jwt.encode(claims, self._keys[self._kid], algorithm=ALGORITHM, headers={"kid": self._kid})
        return token, self.ttl

    def verify(self, token: str) -> AccessClaims:
        """Raise TokenInvalid or TokenExpired unless the token is ours, intact and current."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenInvalid("The access token is malformed.") from exc
        key = self._keys.get(str(header.get("kid")))
        if key is None or header.get("alg") != ALGORITHM:
            raise TokenInvalid("The access token was not signed by a key this server knows.")
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
