"""ASGI middleware of the API: request ids, metrics, the request body limit, security headers."""

from __future__ import annotations

import functools
import os
import random
import time
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from control_plane.core.errors import PayloadTooLarge
from control_plane.core.logs import request_id_var
from control_plane.http.docs import DOCS_CSP
from control_plane.http.problems import problem_response

__all__ = [
    "request_id_of",
    "record_request",
    "security_headers",
    "with_headers",
    "too_large",
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


def request_id_of(headers: Any) -> str:
    """The request's id: the client's ``X-Request-ID`` when sane (1 to 64 letters, digits and
    dashes), else a new one. ``headers`` are the scope's raw header pairs."""
    incoming = b""
    for name, value in headers or ():
        if name == b"x-request-id":
            incoming = value  # the last one, as a dict of the pairs would have it
    rid = incoming.decode("latin-1")
    sane = 0 < len(rid) <= 64 and rid.replace("-", "").isalnum()
    return rid if sane else f"{_ids.getrandbits(128):032x}"


def record_request(method: str, template: str, status: int, seconds: float) -> None:
    """Count one answered request in the HTTP metrics (``template``: the route's path template,
    ``unmatched`` without one); ``seconds`` it took."""
    _requests(method, template, status).inc()
    _seconds(method, template).observe(seconds)


def with_headers(
    headers: list[tuple[bytes, bytes]], extra: list[tuple[bytes, bytes]]
) -> list[tuple[bytes, bytes]]:
    """``headers`` followed by those of ``extra`` whose names are not among them already."""
    present = {k.lower() for k, _ in headers}
    return [*headers, *(h for h in extra if h[0] not in present)]


def security_headers(path: str, *, hsts: bool) -> list[tuple[bytes, bytes]]:
    """The defensive headers of an answer on ``path`` (see :class:`SecurityHeadersMiddleware`)."""
    return [
        *SecurityHeadersMiddleware.HEADERS,
        *([SecurityHeadersMiddleware.HSTS] if hsts else []),
        SecurityHeadersMiddleware.DOCS_CSP
        if path.startswith(SecurityHeadersMiddleware.DOCS)
        else SecurityHeadersMiddleware.CSP,
    ]


class RequestIdMiddleware:
    """Takes ``X-Request-ID`` from the client (if sane) or makes one, and echoes it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id_of(scope.get("headers"))
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
            template = getattr(scope.get("route"), "path", None) or "unmatched"
            record_request(scope["method"], template, status, time.perf_counter() - started)


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
        await too_large(self.limit, scope["path"])(scope, receive, send)


def too_large(limit: int, path: str) -> Response:
    """The 413 problem answer of a body over ``limit`` bytes sent to ``path``."""
    return problem_response(
        413,
        "PAYLOAD_TOO_LARGE",
        "Request body too large",
        f"The request body is limited to {limit} bytes.",
        instance=path,
    )


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
    HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
    DOCS = ("/docs", "/redoc")

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = security_headers(scope["path"], hsts=self.hsts)

        async def add_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = with_headers(message.get("headers", []), headers)
            await send(message)

        await self.app(scope, receive, add_headers)
