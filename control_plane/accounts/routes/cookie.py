"""The refresh token as a cookie, for browser apps (the studio) that keep no token in storage.

A client that signs in with ``refresh_cookie: true`` gets its refresh token only as an HttpOnly
cookie (the body's ``refresh_token`` is empty), scoped to ``/api/v1/auth`` and ``SameSite=Strict``,
so page scripts never see it and other sites never send it. ``POST /api/v1/auth/refresh`` without
a body token reads the cookie, but only with the ``X-Requested-With`` header: a header a form on
another site cannot send and a cross-site script cannot add without a CORS preflight that this
server does not grant. Each refresh rotates the cookie; sign-out clears it.
"""

from __future__ import annotations

from fastapi import Request, Response

from control_plane.accounts.errors import TokenInvalid
from control_plane.core.errors import Unauthorized
from control_plane.core.settings import Settings

__all__ = [
    "COOKIE",
    "COOKIE_PATH",
    "CSRF_HEADER",
    "set_refresh_cookie",
    "clear_refresh_cookie",
    "cookie_token",
]

COOKIE = "sf_refresh"
COOKIE_PATH = "/api/v1/auth"
CSRF_HEADER = "x-requested-with"


def _secure(settings: Settings) -> bool:
    return settings.effective_public_url.startswith("https:")


def set_refresh_cookie(response: Response, refresh_token: str, settings: Settings) -> None:
    """Hand ``refresh_token`` to the browser as the HttpOnly cookie; it lives as long as the token."""
    response.set_cookie(
        COOKIE,
        refresh_token,
        max_age=settings.refresh_token_ttl,
        path=COOKIE_PATH,
        httponly=True,
        secure=_secure(settings),
        samesite="strict",
    )


def clear_refresh_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        COOKIE, path=COOKIE_PATH, httponly=True, secure=_secure(settings), samesite="strict"
    )


def cookie_token(request: Request) -> str:
    """The refresh token from the cookie; 401 without the CSRF header or without the cookie."""
    if not request.headers.get(CSRF_HEADER):
        raise TokenInvalid(
            "Send the refresh token in the body, or the cookie with an X-Requested-With header."
        )
    token = request.cookies.get(COOKIE, "")
    if not token or len(token) > 256:
        raise Unauthorized("No refresh token: sign in again.")
    return token
