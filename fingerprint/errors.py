"""The fingerprint package's error tree.

Every error carries a stable ``code`` string and the HTTP ``status`` the control plane maps it to
(RFC 9457 problem+json). Callers catch :class:`FingerprintError` to handle them all.
"""

from __future__ import annotations

from storage.errors import SocialFlowError


class FingerprintError(SocialFlowError):
    """Base of every error raised by :mod:`fingerprint`."""

    code = "FINGERPRINT_ERROR"


class MediaUnreadable(FingerprintError):
    """The file is missing, not a media container, or its streams cannot be decoded."""

    code = "MEDIA_UNREADABLE"
    status = 422


class NoFingerprintableStream(FingerprintError):
    """The file has neither an audio nor a video stream that can be fingerprinted."""

    code = "NO_FINGERPRINTABLE_STREAM"
    status = 422


class InvalidFingerprint(FingerprintError):
    """Arrays handed to the index or matcher have the wrong shape, type or range."""

    code = "INVALID_FINGERPRINT"
    status = 400


class IndexCorrupt(FingerprintError):
    """Saved index bytes are truncated, of another format version, or inconsistent."""

    code = "INDEX_CORRUPT"
    status = 500


class ReferenceOutOfShard(FingerprintError):
    """A reference id was given to a shard whose id range does not contain it."""

    code = "REFERENCE_OUT_OF_SHARD"
    status = 400


class DuplicateReference(FingerprintError):
    """A reference id is already present in the index; remove it first to replace it."""

    code = "DUPLICATE_REFERENCE"
    status = 409
