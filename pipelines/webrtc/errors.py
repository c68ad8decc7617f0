"""The WebRTC package's error tree; each error carries a stable ``code`` and an HTTP ``status``."""

from __future__ import annotations

from storage.errors import SocialFlowError

__all__ = ["WebRtcError", "BadOffer", "SessionLimit", "SessionNotFound", "UnsupportedSource"]


class WebRtcError(SocialFlowError):
    """Base of every error of ``pipelines.webrtc``; ``str(err)`` is a sentence for the client."""

    code = "WEBRTC_ERROR"
    status = 500


class BadOffer(WebRtcError):
    """The SDP offer cannot be parsed or negotiated (no usable media, no common codec)."""

    code, status = "WEBRTC_BAD_OFFER", 400


class SessionLimit(WebRtcError):
    """The stream (or this server) already has as many WebRTC sessions as it allows."""

    code, status = "WEBRTC_SESSION_LIMIT", 503


class SessionNotFound(WebRtcError):
    """No WebRTC session of that id (ended, or never made)."""

    code, status = "WEBRTC_SESSION_NOT_FOUND", 404


class UnsupportedSource(WebRtcError):
    """The stream's media cannot be relayed over WebRTC (video other than H.264)."""

    code, status = "WEBRTC_UNSUPPORTED_SOURCE", 409
