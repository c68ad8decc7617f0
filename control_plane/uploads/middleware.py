"""The tus protocol's response header, on every answer under the upload prefix."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["TusHeaderMiddleware"]


class TusHeaderMiddleware:
    """Adds ``Tus-Resumable: 1.0.0`` to every response under the upload prefix, errors included."""

    def __init__(self, app: ASGIApp, *, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return

        async def add_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"tus-resumable", b"1.0.0")]
            await send(message)

        await self.app(scope, receive, add_header)
