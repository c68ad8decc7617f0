"""CORS on every answer of the public playback paths (``/live/...``: LL-HLS files and WHEP).

Players run on pages of other sites: hls.js and shaka-player fetch playlists and parts with
``fetch``/XHR, a WHEP client posts its offer, and a page waiting for a stream must be able to read
the answer that says "not live yet" (503 with ``Retry-After``) rather than see a CORS failure.
So every answer under the prefix carries ``Access-Control-Allow-Origin: *``, problem answers
(4xx and 5xx, also from validation and from the error handlers) included, and exposes the
headers a player reads. Playback needs no credentials, so any origin is allowed, whatever the
site-wide ``SOCIALFLOW_CORS_ORIGINS`` list says: the request's ``Origin`` is hidden from the
site-wide middleware, which would otherwise refuse a preflight from a site not on that list.
Preflights are answered here, except WHEP's (its route adds the ICE servers' ``Link`` headers).
An unexpected error still answers a 500 problem with these headers (it is logged here).
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from control_plane.http.problems import problem_response

__all__ = ["PlaybackCorsMiddleware", "PLAYBACK_CORS"]

log = logging.getLogger(__name__)

PLAYBACK_CORS = {
    "access-control-allow-origin": "*",
    "access-control-expose-headers": "Location, Link, Retry-After, Content-Length, Content-Range, Age, Date",
}
PREFLIGHT = {
    **PLAYBACK_CORS,
    "access-control-allow-methods": "GET, HEAD, POST, DELETE, OPTIONS",
    "access-control-allow-headers": "Content-Type, Authorization, Range, If-None-Match, If-Modified-Since",
    "access-control-max-age": "600",
}


class PlaybackCorsMiddleware:
    """Adds ``PLAYBACK_CORS`` to every answer under ``prefix``; answers its preflights, except
    those of paths ending in one of ``routed_preflights``, which reach their routes."""

    def __init__(
        self, app: ASGIApp, *, prefix: str = "/live/", routed_preflights: tuple[str, ...] = ("/whep",)
    ):
        self.app = app
        self.prefix = prefix
        self.routed = routed_preflights

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        headers = [(k, v) for k, v in scope.get("headers", []) if k != b"origin"]
        preflight = scope["method"] == "OPTIONS" and any(
            k == b"access-control-request-method" for k, _ in headers
        )
        if preflight and not scope["path"].endswith(self.routed):
            await send({"type": "http.response.start", "status": 204, "headers": _raw(PREFLIGHT)})
            await send({"type": "http.response.body", "body": b""})
            return
        started = False

        async def with_cors(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                raw = [
                    (k, v) for k, v in message.get("headers", []) if k.decode().lower() not in PLAYBACK_CORS
                ]
                message["headers"] = raw + _raw(PLAYBACK_CORS)
            await send(message)

        try:
            await self.app({**scope, "headers": headers}, receive, with_cors)
        except Exception:
            if started:
                raise
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            response = problem_response(
                500,
                "INTERNAL_ERROR",
                "Internal server error",
                "An unexpected error occurred.",
                instance=scope["path"],
            )
            await response(scope, receive, with_cors)


def _raw(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.encode(), v.encode()) for k, v in headers.items()]
