"""ASGI middleware of the API: request ids, metrics, the request body limit, security headers."""

from __future__ import annotations

import functools
import os
import random
import time
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from control_plane.core.errors import PayloadTooLarge
from control_plane.core.logs import request_id_var
from control_plane.http.docs import DOCS_CSP
from control_plane.http.problems import problem_response

__all__ = [
    "SecurityHeadersMiddleware",
    "HttpMetricsMiddleware",
    "BodyLimitMiddleware",
    "RequestIdMiddleware",
    "HTTP_REQUESTS",
    "HTTP_SECONDS",
]

#: Request ids need to be unique, not secret: a seeded generator, not ``uuid4``'s system call a request.
_ids = random.Random()
os.register_at_fork(after_in_child=_ids.seed)  # a forked worker draws ids of its own

HTTP_REQUESTS = Counter("socialflow_http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_SECONDS = Histogram(
    "socialflow_http_request_duration_seconds", "HTTP request latency", ["method", "route"]
)


# The labelled children, found once per label set rather than on every request (bounded: route
# templates, methods and statuses are few).
@functools.lru_cache(maxsize=4096)
def _requests(method: str, template: str, status: int) -> Any:
    return HTTP_REQUESTS.labels(method, template, str(status))


@functools.lru_cache(maxsize=4096)
def _seconds(method: str, template: str) -> Any:
    return HTTP_SECONDS.labels(method, template)


class RequestIdMiddleware:
    """Takes ``X-Request-ID`` from the client (if sane) or makes one, and echoes it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        sane = 0 < len(incoming) <= 64 and incoming.replace("-", "").isalnum()
        rid = incoming if sane else f"{_ids.getrandbits(128):032x}"
        token = request_id_var.set(rid)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


class HttpMetricsMiddleware:
    """Counts requests by route template (not raw path, so ids do not explode the label set)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            _requests(scope["method"], template, status).inc()
            _seconds(scope["method"], template).observe(time.perf_counter() - started)


class _TooLarge(PayloadTooLarge):
    """A body grew past the limit while it was read."""


class BodyLimitMiddleware:
    """Refuses request bodies over ``limit`` bytes with 413, except under ``exempt`` path prefixes
    (the upload endpoint streams its own bounded bodies)."""

    def __init__(self, app: ASGIApp, *, limit: int, exempt: tuple[str, ...] = ()) -> None:
        self.app = app
        self.limit = limit
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413,
            "PAYLOAD_TOO_LARGE",
            "Request body too large",
            f"The request body is limited to {self.limit} bytes.",
            instance=scope["path"],
        )
        await response(scope, receive, send)


class SecurityHeadersMiddleware:
    """Defensive response headers on everything: a CSP that allows nothing, except on the
    interactive docs, whose CSP allows their scripts and styles from this origin only."""

    HEADERS = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
    CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
    DOCS_CSP = (b"content-security-policy", DOCS_CSP.encode())
    DOCS = ("/docs", "/redoc")

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.extra = [(b"strict-transport-security", b"max-age=31536000; includeSubDomains")] if hsts else []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = [
            *self.HEADERS,
            *self.extra,
            self.DOCS_CSP if scope["path"].startswith(self.DOCS) else self.CSP,
        ]

        async def add_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *(h for h in headers if h[0] not in present),
                ]
            await send(message)

        await self.app(scope, receive, add_headers)
