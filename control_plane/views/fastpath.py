"""The heartbeat's short path: ``POST /api/v1/videos/{id}/views`` answered in plain ASGI, inside
the API's middleware (request ids, metrics, security headers, the body limit all still apply) but
ahead of FastAPI's routing, dependency solving and thread pool.

Players send a heartbeat every 5 s each, so this one route carries most of the API's requests; the
FastAPI path costs it several hundred microseconds of CPU before any counting is done. This path
handles the common case only, an anonymous heartbeat with a JSON body that ``HeartbeatIn``
accepts, with the same service call (``ViewService.heartbeat_async``) and the same answers,
problems included. Anything else (a signed-in player, a body that does not validate, another
content type) is handed on untouched to the FastAPI route in ``routes.py``, which stays the
documented one.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from control_plane.core.errors import SocialFlowError
from control_plane.http.clientip import client_ip
from control_plane.http.problems import problem_response
from control_plane.moderation.access import Audience
from control_plane.views.device import device_of
from control_plane.views.routes import HeartbeatIn

__all__ = ["HeartbeatFastPath"]

_PATH = re.compile(r"^/api/v1/videos/([0-9a-f]{32})/views$")
#: Bodies larger than this are not heartbeats: handed on (the route and body limit answer them).
_MAX_BODY = 4096
_HEADERS = [(b"content-type", b"application/json")]


class HeartbeatFastPath:
    """``services`` is the app's ``Services``; ``route`` the FastAPI route of the same path (set on
    the scope as routing would, so the metrics name its template)."""

    def __init__(self, app: ASGIApp, *, services: Any, route: Any = None) -> None:
        self.app = app
        self.services = services
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        match = _PATH.match(scope["path"])
        if match is None:
            await self.app(scope, receive, send)
            return
        content_type = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                await self.app(scope, receive, send)
                return
            if name == b"content-type":
                content_type = value
        if content_type.split(b";")[0].strip().lower() != b"application/json":
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
            if size > _MAX_BODY and more:
                await self.app(scope, _replay(b"".join(chunks), True, receive), send)
                return
        body = b"".join(chunks)
        try:
            beat = HeartbeatIn.model_validate_json(body)
        except ValidationError:
            await self.app(scope, _replay(body, False, receive), send)
            return
        if self.route is not None:
            scope["route"] = self.route
        services = self.services
        request = Request(scope)
        address = client_ip(request, services.settings.trusted_proxies)
        audience = Audience(None, country=services.geo.country(address))
        video_id = match.group(1)
        try:
            result = await services.views.heartbeat_async(
                video_id,
                audience,
                viewer="a:" + hashlib.sha256(address.encode()).hexdigest()[:24],
                device=device_of(request.headers.get("user-agent", "")),
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
        out = json.dumps(
            {"counted": result.counted, "watched_seconds": round(result.watched, 3)},
            separators=(",", ":"),
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", str(len(out)).encode()), *_HEADERS],
            }
        )
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
