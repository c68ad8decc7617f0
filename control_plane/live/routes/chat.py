"""The live chat WebSocket of a stream: ``/api/v1/live/streams/{id}/chat?access_token=...``.

Anyone may read; signed-in users post. Each client gets the stream's events as JSON text
frames; a refused command answers that client alone with ``{"type": "error", "code", "detail"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from control_plane.accounts.models import ROLES, User
from control_plane.core.errors import ProblemError
from control_plane.live.chat import ChatService, channel
from control_plane.live.service import StreamService
from control_plane.services import Services

router = APIRouter(prefix="/api/v1/live", tags=["live"])

CLOSE_NOT_FOUND, CLOSE_UNAUTHORIZED = 4404, 4401


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
