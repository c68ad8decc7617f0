"""The RTMP ingest server: accepts connections and runs one ``RtmpSession`` per connection.

``RtmpServer(host, port, authorizer, sink_factory, limits)``; ``await start()`` binds (port 0
picks a free port, read it back from ``port``), ``await stop()`` closes the listener, ends every
connection and every live session (sinks closed, state ``idle``). A connection beyond
``limits.max_connections``, beyond ``limits.max_connections_per_address`` from its address, or
beyond ``limits.max_unauthenticated`` connections without an accepted publish is closed at once
(see :mod:`rtmp.admission`).
"""

from __future__ import annotations

import asyncio
import logging

from pipelines.sinks import SinkFactory
from rtmp.admission import Admission, address_of
from rtmp.interfaces import Authorizer
from rtmp.limits import RtmpLimits
from rtmp.registry import LiveRegistry
from rtmp.session import RtmpSession

__all__ = ["RtmpServer"]

log = logging.getLogger(__name__)


class RtmpServer:
    """An asyncio RTMP server for publishers (OBS, FFmpeg) on ``host:port``."""

    def __init__(
        self,
        host: str,
        port: int,
        authorizer: Authorizer,
        sink_factory: SinkFactory,
        limits: RtmpLimits | None = None,
    ):
        self.host = host
        self._port = port
        self.limits = limits or RtmpLimits()
        self.registry = LiveRegistry(authorizer, sink_factory, self.limits.reconnect_window_s)
        self.admission = Admission(self.limits)
        self._server: asyncio.Server | None = None
        self._tasks: dict[asyncio.Task[None], RtmpSession] = {}

    @property
    def port(self) -> int:
        """The bound TCP port (the one picked by the OS when constructed with 0 and started)."""
        return self._port

    @property
    def connections(self) -> int:
        """Connections being served now."""
        return len(self._tasks)

    @property
    def unauthenticated(self) -> int:
        """Connections being served that have no accepted publish."""
        return sum(1 for session in self._tasks.values() if not session.published)

    async def start(self) -> None:
        """Bind and start accepting; raises ``OSError`` when the address is taken."""
        if self._server is not None:
            raise RuntimeError("server already started")
        self._server = await asyncio.start_server(self._accept, self.host, self._port)
        self._port = self._server.sockets[0].getsockname()[1]
        log.info("rtmp ingest listening on rtmp://%s:%d", self.host, self._port)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        address = address_of(writer.get_extra_info("peername"))
        if self.admission.admit(address, len(self._tasks), self.unauthenticated) is not None:
            writer.transport.abort()
            return
        writer.transport.set_write_buffer_limits(high=self.limits.write_buffer_bytes)
        task = asyncio.current_task()
        assert task is not None
        session = self._tasks[task] = RtmpSession(reader, writer, self.registry, self.limits)
        try:
            await session.run()
        except asyncio.CancelledError:
            if not self.registry.shutting_down:
                raise
        finally:
            self._tasks.pop(task, None)
            self.admission.release(address)

    async def stop(self, grace_s: float = 5.0) -> None:
        """Stop listening, close every connection and end every live session.

        Connections are aborted so that each session ends its own way (sinks closed in full);
        any still running after ``grace_s`` seconds is cancelled.
        """
        self.registry.shutting_down = True
        if self._server is not None:
            self._server.close()
        tasks = list(self._tasks)
        for session in self._tasks.values():
            session.writer.transport.abort()
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=grace_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        await self.registry.close_all()
        log.info("rtmp ingest stopped")
