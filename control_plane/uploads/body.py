"""Request bodies as blocking file objects, for upload stores that run in a worker thread.

The tus handler runs the store's ``write`` in a thread; :class:`ThreadBody` lets that thread pull
the request body chunk by chunk from the event loop, so memory stays bounded by one chunk
whatever the body size.
"""

from __future__ import annotations

import io
import time
from collections.abc import AsyncIterator, Callable

import anyio.from_thread

from control_plane.uploads.errors import UploadTooLarge

__all__ = ["ThreadBody"]


class ThreadBody(io.RawIOBase):
    """A readable file over an ASGI body stream, used from a thread started by anyio.

    ``heartbeat`` is called at most every ``heartbeat_every`` seconds while bytes flow (it keeps
    the upload's lock alive). ``limit`` bytes at most are read; more is an UploadTooLarge.
    """

    def __init__(
        self,
        stream: AsyncIterator[bytes],
        *,
        limit: int,
        heartbeat: Callable[[], None] | None = None,
        heartbeat_every: float = 10.0,
    ) -> None:
        super().__init__()
        self._stream = stream
        self._buffer = b""
        self._done = False
        self._limit = limit
        self.heartbeat = heartbeat
        self._heartbeat_every = heartbeat_every
        self._last_beat = time.monotonic()
        self.received = 0

    def readable(self) -> bool:
        return True

    async def _next(self) -> bytes:
        try:
            return await self._stream.__anext__()
        except StopAsyncIteration:
            return b""

    def _pull(self) -> bytes:
        while True:
            chunk = anyio.from_thread.run(self._next)
            if not chunk:
                self._done = True
                return b""
            self.received += len(chunk)
            if self.received > self._limit:
                raise UploadTooLarge(
                    f"The request body is larger than the {self._limit} bytes this upload accepts."
                )
            if self.heartbeat is not None and time.monotonic() - self._last_beat > self._heartbeat_every:
                self.heartbeat()
                self._last_beat = time.monotonic()
            return chunk

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._buffer and not self._done:
            self._buffer = self._pull()
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        if not self._buffer and not self._done:
            self._buffer = self._pull()
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out
