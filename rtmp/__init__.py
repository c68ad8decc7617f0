"""Social Flow: rtmp, the asyncio RTMP ingest server.

It knows nothing of HTTP: it reaches the control plane only through an ``Authorizer`` and hands
media to the neutral sinks of ``pipelines.sinks``: a ``MediaSink`` made per live session by a
``SinkFactory``. Wiring, for example with the live packager::

    def sink_factory(grant: StreamGrant) -> MediaSink:
        folder = data_dir / "live" / grant.stream_id
        return LiveSink(local_writer(folder / "hls"), folder / "recording.flv")

    server = RtmpServer("0.0.0.0", 1935, authorizer, sink_factory, RtmpLimits())
    await server.start()
    ...
    await server.stop()

or, as a process of its own, ``rtmp.run(host, port, authorizer, sink_factory)``.
"""

from rtmp.errors import (
    AmfError,
    HandshakeError,
    MessageTooLarge,
    ProtocolError,
    PublishRefused,
    ResourceLimit,
    RtmpError,
    StreamBusy,
    Timeout,
)
from rtmp.interfaces import Authorizer, StreamState
from rtmp.limits import RtmpLimits
from rtmp.main import run, serve
from rtmp.memory import CollectingSink, StaticAuthorizer
from rtmp.server import RtmpServer

__all__ = [
    "RtmpServer",
    "RtmpLimits",
    "run",
    "serve",
    "Authorizer",
    "StreamState",
    "StaticAuthorizer",
    "CollectingSink",
    "RtmpError",
    "AmfError",
    "HandshakeError",
    "ProtocolError",
    "MessageTooLarge",
    "ResourceLimit",
    "PublishRefused",
    "StreamBusy",
    "Timeout",
]
