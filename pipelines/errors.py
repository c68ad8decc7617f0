"""The pipelines error tree.

Every error a media pipeline raises is a :class:`MediaError`. Each class carries a stable
machine ``code`` and an HTTP ``status`` (the control plane maps them to problem+json), and each
instance carries a message written for the CREATOR who uploaded the file: what is wrong, in
plain words, without codec jargon or stack traces.
"""

from __future__ import annotations

from storage.errors import SocialFlowError

__all__ = [
    "MediaError",
    "EmptyFile",
    "NotMedia",
    "NoDecodableStream",
    "CorruptMedia",
    "LimitExceeded",
    "DurationTooLong",
    "ResolutionTooHigh",
    "FrameRateTooHigh",
    "FileTooLarge",
    "EncoderUnavailable",
    "IncompleteOutput",
    "AmfError",
    "BadBitstream",
    "format_clock",
    "format_span",
]


class MediaError(SocialFlowError):
    """Base of every pipelines error; ``detail`` (also ``str(err)``) is a sentence a creator can read."""

    code = "MEDIA_ERROR"
    status = 422
    default_detail = "We could not process this file."


class EmptyFile(MediaError):
    """The file has zero bytes."""

    code = "EMPTY_FILE"
    default_detail = "The file is empty."


class NotMedia(MediaError):
    """No demuxer recognises the file: text, random bytes, a document, ..."""

    code = "NOT_MEDIA"
    default_detail = "This file is not a video or audio file we can read."


class NoDecodableStream(MediaError):
    """The container opens, but no audio or video stream in it yields a single frame."""

    code = "NO_DECODABLE_STREAM"
    default_detail = "The file has no video or audio track we can play."


class CorruptMedia(MediaError):
    """The file is recognised but damaged: cut off too early, or broken in the middle."""

    code = "CORRUPT_MEDIA"
    default_detail = "The file is damaged and cannot be played."


class LimitExceeded(MediaError):
    """The file is valid media but bigger than this site accepts (see subclasses)."""

    code = "LIMIT_EXCEEDED"
    default_detail = "The file is larger than this site accepts."


class DurationTooLong(LimitExceeded):
    code = "DURATION_TOO_LONG"


class ResolutionTooHigh(LimitExceeded):
    code = "RESOLUTION_TOO_HIGH"


class FrameRateTooHigh(LimitExceeded):
    code = "FRAME_RATE_TOO_HIGH"


class FileTooLarge(LimitExceeded):
    code = "FILE_TOO_LARGE"


class EncoderUnavailable(MediaError):
    """A configured encoder cannot be opened on this machine (a server problem, not the file's)."""

    code = "ENCODER_UNAVAILABLE"
    status = 500
    default_detail = "The server cannot encode video right now; we will retry."


class IncompleteOutput(MediaError):
    """Chunked runs did not all finish: manifests cannot be written yet (a server problem)."""

    code = "INCOMPLETE_OUTPUT"
    status = 500
    default_detail = "Processing did not finish; we will retry."


class AmfError(MediaError):
    """An AMF0 value is malformed, truncated, too deep, or claims more bytes than it has (or a
    value cannot be encoded as AMF0). Always raised with a sentence saying which, for logs."""

    code = "BAD_AMF"


class BadBitstream(MediaError, ValueError):
    """An H.264 configuration record or access unit that cannot be read; always raised with a
    sentence saying why. Also a ``ValueError``: the bytes handed over are not what they must be."""

    code = "BAD_BITSTREAM"


def format_clock(seconds: float) -> str:
    """A position for creators: ``00:41``, ``12:05``, ``1:02:03`` (seconds truncated)."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes:02d}:{secs:02d}"


def format_span(seconds: float) -> str:
    """A length for creators: ``41 s``, ``12 min``, ``3 h 20 min``, ``2 h`` (rounded down)."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"
