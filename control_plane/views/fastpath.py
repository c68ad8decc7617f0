"""The heartbeat's short path: ``POST /api/v1/videos/{id}/views`` answered in plain ASGI, as the
outermost of the API's own middleware (only Starlette's and FastAPI's error handling run before
it), ahead of the other layers, FastAPI's routing, dependency solving and thread pool.

Players send a heartbeat every 5 s each, so this one route carries most of the API's requests; the
FastAPI path costs it several hundred microseconds of CPU before any counting is done, the ten
middleware layers tens more. This path handles the common case only, an anonymous heartbeat with
a JSON body that ``HeartbeatIn`` accepts, with the same service call
(``ViewService.heartbeat_async``) and the same answers, problems included. What the layers it
skips would have done to those answers it does itself, with their own functions: the request id
(echoed or made, and set for the logs), the HTTP metrics by route template, the security headers,
the site-wide CORS headers, the body limit (a body over it is handed on, and the layer refuses it).
Anything else (a signed-in player, a body that does not validate, another content type, a body
too large for a heartbeat) is handed on untouched to the whole stack and the FastAPI route in
``routes.py``, which stays the documented one.
"""

from __future__ import annotations

import functools
import hashlib
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from control_plane.core.errors import SocialFlowError
from control_plane.core.logs import request_id_var
from control_plane.http.clientip import client_ip_of
from control_plane.http.middleware import (
    record_request,
    request_id_of,
    security_headers,
    too_large,
    with_headers,
)
from control_plane.http.problems import problem_response
from control_plane.moderation.access import Audience
from control_plane.views.device import device_of
from control_plane.views.routes import HeartbeatIn

__all__ = ["HeartbeatFastPath"]

_PATH = re.compile(r"^/api/v1/videos/([0-9a-f]{32})/views$")
#: Bodies larger than this are not heartbeats: handed on (the route and body limit answer them).
_MAX_BODY = 4096
_JSON = (b"content-type", b"application/json")


class HeartbeatFastPath:
    """``services`` is the app's ``Services``; ``route`` the FastAPI route of the same path (set on
    the scope as routing would; the metrics name its template). ``hsts``, ``body_limit`` and
    ``cors`` (``CORSMiddleware``'s keywords, None without it) are those the API's middleware was
    given."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        services: Any,
        route: Any,
        hsts: bool,
        body_limit: int,
        cors: Mapping[str, Any] | None = None,
    ) -> None:
        self.app = app
        self.services = services
        self.route = route
        self.template: str = route.path
        self.body_limit = body_limit
        self.limit = min(body_limit, _MAX_BODY)
        self.security = security_headers(self.template, hsts=hsts)
        # Starlette's own CORS layer, used for its response headers only (a POST has no preflight)
        self.cors = CORSMiddleware(app, **cors) if cors else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        match = _PATH.match(scope["path"])
        if match is None:
            await self.app(scope, receive, send)
            return
        content_type = length = b""
        agent = forwarded = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                await self.app(scope, receive, send)
                return
            if name == b"content-type":
                content_type = value
            elif name == b"content-length":
                length = value
            elif name == b"user-agent" and agent is None:
                agent = value
            elif name == b"x-forwarded-for" and forwarded is None:
                forwarded = value
        if content_type.split(b";")[0].strip().lower() != b"application/json" or (
            length and (not length.isdigit() or int(length) > self.limit)
        ):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # gone: let the route see it as it would
                await self.app(scope, _replay(b"".join(chunks), True, receive, message), send)
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.body_limit:  # streamed past the limit: the body limit's own answer
                refusal = too_large(self.body_limit, scope["path"])
                await self._respond(scope, send, "unmatched", functools.partial(refusal, scope, receive))
                return
            if size > self.limit:
                await self.app(scope, _replay(b"".join(chunks), more, receive), send)
                return
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        try:
            beat = HeartbeatIn.model_validate_json(body)
        except ValidationError:
            await self.app(scope, _replay(body, False, receive), send)
            return
        scope["route"] = self.route
        count = functools.partial(
            self._count, scope, receive, video_id=match.group(1), beat=beat, agent=agent, forwarded=forwarded
        )
        await self._respond(scope, send, self.template, count)

    async def _respond(
        self, scope: Scope, send: Send, template: str, answer: Callable[[Send], Awaitable[None]]
    ) -> None:
        """Run ``answer``, sending through what the skipped layers would have wrapped around it:
        the request id (in the log context and echoed), the metrics under ``template``, the
        security headers and the CORS headers."""
        started = time.perf_counter()
        status = 500
        rid = request_id_of(scope["headers"])
        token = request_id_var.set(rid)
        tail = [(b"x-request-id", rid.encode())]

        async def wrapped(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*with_headers(message.get("headers", []), self.security), *tail]
            await send(message)

        out: Send = wrapped
        if self.cors is not None:
            out = functools.partial(self.cors.send, send=wrapped, request_headers=Headers(scope=scope))
        try:
            await answer(out)
        finally:
            request_id_var.reset(token)
            record_request("POST", template, status, time.perf_counter() - started)

    async def _count(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        video_id: str,
        beat: HeartbeatIn,
        agent: bytes | None,
        forwarded: bytes | None,
    ) -> None:
        """Count the beat and answer as the route does (4xx problems included)."""
        services = self.services
        client = scope.get("client")
        address = client_ip_of(
            client[0] if client else "unknown",
            forwarded.decode("latin-1") if forwarded is not None else "",
            services.settings.trusted_proxies,
        )
        try:
            result = await services.views.heartbeat_async(
                video_id,
                Audience(None, country=services.geo.country(address)),
                viewer="a:" + hashlib.sha256(address.encode()).hexdigest()[:24],
                device=device_of(agent.decode("latin-1") if agent is not None else ""),
                session=beat.session,
                position=beat.position,
                watched=beat.watched_seconds,
            )
        except SocialFlowError as exc:
            if not 400 <= exc.status < 500:
                raise
            problem = problem_response(
                exc.status, exc.code, exc.summary, exc.detail, instance=scope["path"], headers=exc.headers
            )
            await problem(scope, receive, send)
            return
        # what FastAPI writes for HeartbeatOut: compact JSON, a float as its repr (as json does)
        out = b'{"counted":%s,"watched_seconds":%s}' % (
            b"true" if result.counted else b"false",
            repr(round(float(result.watched), 3)).encode(),
        )
        headers = [(b"content-length", b"%d" % len(out)), _JSON]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": out})


def _replay(body: bytes, more: bool, receive: Receive, then: Message | None = None) -> Receive:
    """A ``receive`` that gives back what was read (``more``: the rest is still to come), then
    ``then`` if given, then reads on."""
    queue: list[Message] = [{"type": "http.request", "body": body, "more_body": more}]
    if then is not None:
        queue.append(then)

    async def replay() -> Message:
        if queue:
            return queue.pop(0)
        return await receive()

    return replay
