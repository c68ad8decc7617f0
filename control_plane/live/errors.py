"""Errors of the live streaming service, in the control plane's error tree."""

from __future__ import annotations

from control_plane.core.errors import BadRequest, NotFound, ProblemError, ServiceUnavailable

__all__ = [
    "LiveStreamNotFound",
    "LivePlaybackNotFound",
    "PlaylistAhead",
    "PlaylistNotReady",
    "WebSocketRequired",
]


class LiveStreamNotFound(NotFound):
    """No such stream, or it belongs to someone else (the two are not told apart): 404."""

    code, title = "LIVE_STREAM_NOT_FOUND", "No such live stream"


class LivePlaybackNotFound(NotFound):
    """A playback file that does not exist (yet, or any more): 404."""

    code, title = "LIVE_FILE_NOT_FOUND", "No such live playback file"


class WebSocketRequired(ProblemError):
    """A plain HTTP request to a WebSocket-only path (the live chat): 426, naming the upgrade."""

    status, code, title = 426, "WEBSOCKET_REQUIRED", "Open this path as a WebSocket"


class PlaylistAhead(BadRequest):
    """A blocking reload asks for a part too far beyond the live edge (or ``_HLS_part`` alone): 400."""

    code, title = "LIVE_BAD_PLAYLIST_REQUEST", "Part too far ahead"


class PlaylistNotReady(ServiceUnavailable):
    """A blocking reload or a held part request waited its whole timeout: 503."""

    code, title = "LIVE_PLAYLIST_TIMEOUT", "Live part not ready in time"
