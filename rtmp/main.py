"""Standalone entry point for the ``socialflow rtmp`` command.

``run(host, port, authorizer, sink_factory)`` blocks until SIGINT or SIGTERM, then stops the
server cleanly (every live session ended, sinks closed). ``serve`` is the same as a coroutine,
ending when ``stop`` is set, for embedding in an existing event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

from pipelines.sinks import SinkFactory
from rtmp.interfaces import Authorizer
from rtmp.limits import RtmpLimits
from rtmp.server import RtmpServer

__all__ = ["run", "serve"]


async def serve(
    host: str,
    port: int,
    authorizer: Authorizer,
    sink_factory: SinkFactory,
    stop: asyncio.Event,
    limits: RtmpLimits | None = None,
) -> None:
    """Serve until ``stop`` is set; the server is always stopped on the way out."""
    server = RtmpServer(host, port, authorizer, sink_factory, limits)
    await server.start()
    try:
        await stop.wait()
    finally:
        await server.stop()


def run(
    host: str,
    port: int,
    authorizer: Authorizer,
    sink_factory: SinkFactory,
    limits: RtmpLimits | None = None,
) -> None:
    """Serve RTMP ingest on ``host:port`` until SIGINT/SIGTERM."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await serve(host, port, authorizer, sink_factory, stop, limits)

    asyncio.run(main())
