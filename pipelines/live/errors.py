"""Errors of the live packaging subpackage, in the pipelines error tree (``MediaError``)."""

from __future__ import annotations

from pipelines.errors import MediaError

__all__ = ["LiveError", "UnsupportedLiveCodec", "BadPlaylistRequest", "PlaylistTimeout"]


class LiveError(MediaError):
    """Base of the live packaging errors."""

    code = "LIVE_ERROR"
    status = 500
    default_detail = "The live stream could not be packaged."


class UnsupportedLiveCodec(LiveError):
    """A configuration record is malformed or names a codec that cannot be packaged as CMAF."""

    code = "LIVE_UNSUPPORTED_CODEC"
    status = 422
    default_detail = "The stream uses a codec we cannot send to viewers."


class BadPlaylistRequest(LiveError):
    """A blocking playlist request asks for a part too far ahead (or ``_HLS_part`` alone): 400."""

    code = "LIVE_BAD_PLAYLIST_REQUEST"
    status = 400
    default_detail = "That part of the live stream does not exist yet."


class PlaylistTimeout(LiveError):
    """A blocking playlist request waited its whole timeout for a part that did not come: 503."""

    code = "LIVE_PLAYLIST_TIMEOUT"
    status = 503
    default_detail = "The live stream did not produce the requested part in time."
