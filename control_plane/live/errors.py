"""Errors of the live streaming service, in the control plane's error tree."""

from __future__ import annotations

from control_plane.core.errors import BadRequest, NotFound, ProblemError, ServiceUnavailable

__all__ = [
    "LiveStreamNotFound",
    "LivePlaybackNotFound",
    "PlaylistAhead",
    "PlaylistNotReady",
    "NotLiveYet",
    "WebSocketRequired",
]

#: Seconds a player is told to wait before asking again for a stream that is not live yet.
NOT_LIVE_RETRY_S = 1


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


class NotLiveYet(ServiceUnavailable):
    """A playlist of a stream that has not started, or whose first parts are not there yet: 503
    with ``Retry-After``, which players retry (hls.js retries 5xx answers and gives 4xx up)."""

    code, title = "LIVE_NOT_LIVE_YET", "Not live yet"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"Retry-After": str(NOT_LIVE_RETRY_S)})
