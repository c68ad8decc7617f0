"""Signed playback tokens for private videos (the idea of Mux's signed playback ids).

A token is an HS256 JWT naming one video (``sub``), with ``aud`` ``socialflow-playback``, an
expiry and the ``kid`` of a playback key (derived from the secret key, rotated with it: see
``KeyRing``). It travels in the path, ``/media/videos/{id}/t/{token}/hls/master.m3u8``, so every
relative URL a player resolves from a playlist (media playlists, segments, init segments,
storyboard sprites) carries it too without rewriting the files; every request is checked.
"""

from __future__ import annotations

import time
import uuid

import jwt

from control_plane.accounts.errors import TokenInvalid
from control_plane.accounts.tokens import ALGORITHM, KeyRing
from control_plane.core.errors import Forbidden

__all__ = ["PlaybackTokens", "PlaybackDenied", "PLAYBACK_AUDIENCE"]

PLAYBACK_AUDIENCE = "socialflow-playback"


class PlaybackDenied(Forbidden):
    code, title = "PLAYBACK_TOKEN_INVALID", "Playback not allowed"


class PlaybackTokens:
    """Issues and checks playback tokens; ``max_ttl`` (seconds) bounds what may be asked for."""

    def __init__(self, secret: bytes, previous: tuple[bytes, ...] = (), *, max_ttl: int) -> None:
        self.ring = KeyRing(secret, previous, purpose="playback")
        self.max_ttl = max_ttl

    def issue(self, video_id: str, ttl: int, *, viewer: str | None = None) -> tuple[str, int]:
        """A token for ``video_id`` valid ``ttl`` seconds (capped at ``max_ttl``); returns the
        token and its expiry (Unix seconds). ``viewer`` (a user id) is recorded for the logs."""
        now = int(time.time())
        expires = now + max(1, min(ttl, self.max_ttl))
        claims: dict[str, object] = {
            "sub": video_id,
            "aud": PLAYBACK_AUDIENCE,
            "iat": now,
            "exp": expires,
            "jti": uuid.uuid4().hex[:16],
        }
        if viewer:
            claims["vwr"] = viewer
        token = jwt.encode(
            claims, self.ring.signing_key(), algorithm=ALGORITHM, headers={"kid": self.ring.current}
        )
        return token, expires

    def check(self, token: str, video_id: str) -> int:
        """The token's expiry (Unix seconds) if it is ours, intact, current and for ``video_id``;
        raises ``PlaybackDenied`` (403) otherwise, with a reason a viewer's app can show."""
        try:
            key = self.ring.verifying_key(token)
        except TokenInvalid as exc:
            raise PlaybackDenied("This playback link is not valid.") from exc
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=PLAYBACK_AUDIENCE,
                options={"require": ["sub", "exp", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise PlaybackDenied(
                "This playback link has expired; ask for a new one.", code="PLAYBACK_TOKEN_EXPIRED"
            ) from exc
        except jwt.PyJWTError as exc:
            raise PlaybackDenied("This playback link is not valid.") from exc
        if claims.get("sub") != video_id:
            raise PlaybackDenied("This playback link is for another video.")
        return int(claims["exp"])
