"""The live chat WebSocket of a stream: ``/api/v1/live/streams/{id}/chat?access_token=...``.

Anyone may read; signed-in users post. Each client gets the stream's events as JSON text
frames; a refused command answers that client alone with ``{"type": "error", "code", "detail"}``.
OpenAPI cannot describe a WebSocket, so the document has the path as a GET operation whose 101
answer tells the protocol; a plain HTTP GET (no upgrade) answers 426.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi import APIRouter, Query, Response, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from control_plane.accounts.errors import AccountSuspended
from control_plane.accounts.models import ROLES, User
from control_plane.core.errors import ProblemError
from control_plane.http.openapi import problems
from control_plane.live.chat import MAX_MESSAGE_CHARS, ChatService, channel
from control_plane.live.errors import WebSocketRequired
from control_plane.live.service import StreamService
from control_plane.services import Services

router = APIRouter(prefix="/api/v1/live", tags=["live"])

CLOSE_NOT_FOUND, CLOSE_UNAUTHORIZED = 4404, 4401
#: The WebSocket protocol, as the document's 101 answer tells it.
PROTOCOL = f"""Switching to the WebSocket protocol. Anyone may read; send `?access_token=` (an
access token) to take part. The server sends each event of the stream's chat as a JSON text frame:
`{{"type": "message", "id", "user_id", "username", "text", "at"}}`, `{{"type": "deleted", "id"}}`,
`{{"type": "banned", "user_id"}}`. A client sends commands as JSON text frames:
`{{"type": "message", "text"}}` (at most {MAX_MESSAGE_CHARS} characters, rate-limited),
and, from the streamer or a moderator, `{{"type": "delete", "id"}}` or `{{"type": "ban", "user_id"}}`.
A refused command answers that client alone with `{{"type": "error", "code", "detail"}}`. The
socket closes with 4404 for an unknown stream and 4401 for a token that is not valid."""


@router.get(
    "/streams/{stream_id}/chat",
    status_code=101,
    response_class=Response,
    responses={101: {"description": PROTOCOL}, **problems(426)},
    summary="Live chat (WebSocket)",
)
def chat_over_http(
    stream_id: str, access_token: str | None = Query(None, max_length=4096, description="to take part")
) -> Response:
    """The stream's live chat, a WebSocket: open this URL with ``ws://`` or ``wss://``."""
    raise WebSocketRequired(
        "The live chat is a WebSocket: open this URL with ws:// or wss://.",
        headers={"Upgrade": "websocket", "Connection": "Upgrade"},
    )


@router.websocket("/streams/{stream_id}/chat")
async def chat(websocket: WebSocket, stream_id: str, access_token: str | None = None) -> None:
    services: Services = websocket.app.state.services
    streams = StreamService(services.db)
    if not await run_in_threadpool(streams.exists, stream_id):
        await websocket.close(code=CLOSE_NOT_FOUND)
        return
    user: User | None = None
    if access_token:
        try:
            user, _ = await run_in_threadpool(services.accounts.authenticate, access_token)
        except ProblemError:
            await websocket.close(code=CLOSE_UNAUTHORIZED)
            return
    moderator = user is not None and ROLES.index(user.role) >= ROLES.index("moderator")
    service = ChatService(streams, services.pubsub, services.kv, services.limiter)
    await websocket.accept()
    ready, sending = asyncio.Event(), asyncio.Lock()  # one frame at a time on the socket

    async def forward() -> None:
        async for message in services.pubsub.subscribe(channel(stream_id), ready):
            async with sending:
                await websocket.send_text(message)

    relay = asyncio.create_task(forward())
    await ready.wait()
    try:
        while True:
            command: Any = await websocket.receive_json()
            try:
                if not isinstance(command, dict):
                    raise ProblemError("A chat command is a JSON object.", code="CHAT_BAD_COMMAND")
                if user is not None and user.suspended():  # as of the connection: it reads, it does not write
                    raise AccountSuspended(
                        "This account is suspended: it can read the chat, not write in it."
                    )
                await run_in_threadpool(service.handle, stream_id, user, moderator, command)
            except ProblemError as exc:
                async with sending:
                    await websocket.send_json({"type": "error", "code": exc.code, "detail": exc.detail})
    except (WebSocketDisconnect, ValueError):
        pass
    finally:
        relay.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await relay
