"""The server's command messages: ``_result``, ``_error`` and ``onStatus`` with NetStatus info.

Each builder returns a ``Message`` on chunk stream 3; ``txn`` is the client's transaction id.
"""

from __future__ import annotations

from typing import Any, Final

from pipelines import amf0
from rtmp.chunks import Message
from rtmp.control import COMMAND_AMF0

__all__ = [
    "command",
    "info",
    "result",
    "call_failed",
    "on_status",
    "publish_refused",
    "publish_started",
    "connect_result",
]

_COMMAND_CSID: Final = 3


def command(stream_id: int, *values: Any) -> Message:
    """An AMF0 command message on message stream ``stream_id``."""
    return Message(COMMAND_AMF0, stream_id, 0, amf0.encode(*values), _COMMAND_CSID)


def info(level: str, code: str, description: str) -> dict[str, Any]:
    """A NetStatus info object; ``level`` is ``status`` or ``error``."""
    return {"level": level, "code": code, "description": description}


def result(txn: float, *values: Any) -> Message:
    """``_result`` for transaction ``txn``; ``values`` follow the command object (null)."""
    return command(0, "_result", txn, None, *values)


def call_failed(txn: float, name: str) -> Message:
    """``_error`` for a command this server does not implement."""
    failure = info("error", "NetConnection.Call.Failed", f"unknown command {name}")
    return command(0, "_error", txn, None, failure)


def on_status(stream_id: int, level: str, code: str, description: str) -> Message:
    """``onStatus`` on a NetStream, e.g. ``NetStream.Publish.Start``."""
    return command(stream_id, "onStatus", 0.0, None, info(level, code, description))


def publish_refused(stream_id: int, reason: str) -> Message:
    """The ``onStatus`` error FFmpeg and OBS show when a stream key is refused or busy."""
    return on_status(stream_id, "error", "NetStream.Publish.BadName", reason)


def publish_started(stream_id: int, key: str) -> Message:
    """The ``onStatus`` a publisher waits for before it sends media."""
    return on_status(stream_id, "status", "NetStream.Publish.Start", f"{key} is now published")


def connect_result(txn: float) -> Message:
    """The successful answer to ``connect`` (AMF0 object encoding)."""
    properties = {"fmsVer": "FMS/3,0,1,123", "capabilities": 31.0}
    status = info("status", "NetConnection.Connect.Success", "Connection succeeded.")
    status["objectEncoding"] = 0.0
    return command(0, "_result", txn, properties, status)
