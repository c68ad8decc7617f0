"""Request bodies as blocking file objects, for upload stores that run in a worker thread.

The tus handler runs the store's ``write`` in a thread. :class:`ThreadBody` has a task on the
event loop read the request body ahead into a bounded buffer (``prefetch`` bytes) while the thread
writes and fsyncs, so the socket keeps flowing; the thread takes whatever has arrived in one hop.
Memory stays bounded by the buffer whatever the body size.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator, Callable

import anyio.from_thread

from control_plane.uploads.errors import UploadTooLarge

__all__ = ["ThreadBody", "PREFETCH_BYTES"]

PREFETCH_BYTES = 8 * 1024 * 1024  # body bytes read ahead of the writing thread


class ThreadBody(io.RawIOBase):
    """A readable file over an ASGI body stream, for a thread started by anyio.

    Run :meth:`pump` as a task on the event loop while the thread reads. ``heartbeat`` is called
    at most every ``heartbeat_every`` seconds while bytes flow (it keeps the upload's lock alive).
    ``limit`` bytes at most are read; more is an UploadTooLarge.
    """

    def __init__(
        self,
        stream: AsyncIterator[bytes],
        *,
        limit: int,
        heartbeat: Callable[[], None] | None = None,
        heartbeat_every: float = 10.0,
        prefetch: int = PREFETCH_BYTES,
    ) -> None:
        super().__init__()
        self._stream = stream
        self._chunks: list[bytes] = []
        self._queued = 0
        self._ended = False
        self._failure: BaseException | None = None
        self._ready = asyncio.Condition()
        self._prefetch = prefetch
        self._buffer = b""
        self._pos = 0  # bytes of ``_buffer`` already read: slicing from here copies only what is read
        self._done = False
        self._limit = limit
        self.heartbeat = heartbeat
        self._heartbeat_every = heartbeat_every
        self._last_beat = time.monotonic()
        self.received = 0

    def readable(self) -> bool:
        return True

    async def pump(self) -> None:
        """Read the body ahead into the buffer until it ends, fails, or the task is cancelled."""
        try:
            async for chunk in self._stream:
                if not chunk:
                    continue
                async with self._ready:
                    await self._ready.wait_for(lambda: self._queued < self._prefetch)
                    self._chunks.append(chunk)
                    self._queued += len(chunk)
                    self._ready.notify_all()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the reading thread re-raises it (a client that went away, say)
            self._failure = exc
        async with self._ready:
            self._ended = True
            self._ready.notify_all()

    async def _take(self) -> bytes:
        async with self._ready:
            await self._ready.wait_for(lambda: bool(self._chunks) or self._ended)
            data = b"".join(self._chunks)
            self._chunks.clear()
            self._queued = 0
            self._ready.notify_all()
        if not data and self._failure is not None:
            raise self._failure
        return data

    def _pull(self) -> bytes:
        chunk = anyio.from_thread.run(self._take)
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

    def _fill(self) -> None:
        if self._pos >= len(self._buffer) and not self._done:
            self._buffer, self._pos = self._pull(), 0

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        self._fill()
        n = min(len(target), len(self._buffer) - self._pos)
        target[:n] = memoryview(self._buffer)[self._pos : self._pos + n]
        self._pos += n
        return n

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        self._fill()
        if self._pos == 0 and size >= len(self._buffer):
            out = self._buffer  # the whole hop, handed on without a copy
        else:
            out = self._buffer[self._pos : self._pos + size]
        self._pos += len(out)
        return out
