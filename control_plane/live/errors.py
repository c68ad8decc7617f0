"""Errors of the live streaming service, in the control plane's error tree."""

from __future__ import annotations

from control_plane.core.errors import BadRequest, NotFound, ServiceUnavailable

__all__ = [
    "LiveStreamNotFound",
    "LivePlaybackNotFound",
    "PlaylistAhead",
    "PlaylistNotReady",
]


class LiveStreamNotFound(NotFound):
    """No such stream, or it belongs to someone else (the two are not told apart): 404."""

    code, title = "LIVE_STREAM_NOT_FOUND", "No such live stream"


class LivePlaybackNotFound(NotFound):
    """A playback file that does not exist (yet, or any more): 404."""

    code, title = "LIVE_FILE_NOT_FOUND", "No such live playback file"


class PlaylistAhead(BadRequest):
    """A blocking reload asks for a part too far beyond the live edge (or ``_HLS_part`` alone): 400."""

    code, title = "LIVE_BAD_PLAYLIST_REQUEST", "Part too far ahead"


class PlaylistNotReady(ServiceUnavailable):
    """A blocking reload or a held part request waited its whole timeout: 503."""

    code, title = "LIVE_PLAYLIST_TIMEOUT", "Live part not ready in time"
