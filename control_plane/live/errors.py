"""Errors of the live streaming service, in the control plane's error tree."""

from __future__ import annotations

from control_plane.errors import NotFound, ProblemError

__all__ = ["LiveStreamNotFound", "NotYetSupported", "LivePlaybackNotFound"]


class LiveStreamNotFound(NotFound):
    """No such stream, or it belongs to someone else (the two are not told apart): 404."""

    code, title = "LIVE_STREAM_NOT_FOUND", "No such live stream"


class LivePlaybackNotFound(NotFound):
    """A playback file that does not exist (yet, or any more): 404."""

    code, title = "LIVE_FILE_NOT_FOUND", "No such live playback file"


class NotYetSupported(ProblemError):
    """An advertised endpoint whose protocol is not implemented yet (WHIP/WHEP): 501."""

    status, code, title = 501, "NOT_YET_SUPPORTED", "Not yet supported"
