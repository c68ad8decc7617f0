"""The storage error tree.

Every error carries a stable ``code`` string and an HTTP ``status`` so the control plane can map
it to an RFC 9457 problem response with one exception handler.
"""

from __future__ import annotations

__all__ = [
    "BlobNotFound",
    "ChecksumMismatch",
    "InvalidKey",
    "InvalidMultipart",
    "InvalidUpload",
    "MultipartNotFound",
    "OffsetMismatch",
    "SignatureInvalid",
    "StorageError",
    "StorageUnavailable",
    "UploadExists",
    "UploadExpired",
    "UploadForbidden",
    "UploadIncomplete",
    "UploadNotFound",
    "UnsupportedChecksum",
]


class StorageError(Exception):
    """Base of every storage error; ``code`` is stable, ``status`` is the HTTP status to answer."""

    code: str = "STORAGE_ERROR"
    status: int = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BlobNotFound(StorageError):
    """The key names no blob."""

    code = "BLOB_NOT_FOUND"
    status = 404


class InvalidKey(StorageError):
    """The key is unsafe or malformed (see ``storage.keys.validate_key``)."""

    code = "INVALID_KEY"
    status = 400


class OffsetMismatch(StorageError):
    """A write or append was asked at an offset other than the current durable size."""

    code = "MISMATCHED_OFFSET"
    status = 409

    def __init__(self, detail: str, *, expected: int, actual: int) -> None:
        super().__init__(detail)
        self.expected = expected
        self.actual = actual


class StorageUnavailable(StorageError):
    """The backend cannot be reached or refused to work (network, credentials, missing root)."""

    code = "STORAGE_UNAVAILABLE"
    status = 503


class SignatureInvalid(StorageError):
    """A signed URL's signature is wrong, malformed or expired."""

    code = "SIGNATURE_INVALID"
    status = 403


class MultipartNotFound(StorageError):
    """The multipart upload id is unknown, already completed or aborted."""

    code = "MULTIPART_NOT_FOUND"
    status = 404


class InvalidMultipart(StorageError):
    """A multipart completion named parts that do not exist, are out of order or too small."""

    code = "INVALID_MULTIPART"
    status = 400


class UploadNotFound(StorageError):
    """The resumable upload id is unknown (never created, terminated or swept)."""

    code = "UPLOAD_NOT_FOUND"
    status = 404


class UploadExists(StorageError):
    """An upload with this id already exists."""

    code = "UPLOAD_EXISTS"
    status = 409


class UploadExpired(StorageError):
    """The upload passed its expiry time and no longer accepts data."""

    code = "UPLOAD_EXPIRED"
    status = 410


class UploadIncomplete(StorageError):
    """The upload cannot be finished or concatenated: its length is unknown or not reached."""

    code = "UPLOAD_INCOMPLETE"
    status = 409


class InvalidUpload(StorageError):
    """A request that the upload's state forbids (length already set, length exceeded, bad id)."""

    code = "INVALID_UPLOAD"
    status = 400


class UploadForbidden(StorageError):
    """The upload does not take writes: it is the final upload of a concatenation, or finished."""

    code = "UPLOAD_FORBIDDEN"
    status = 403


class ChecksumMismatch(StorageError):
    """A chunk's checksum does not match the one announced; nothing of it was stored (tus: 460)."""

    code = "CHECKSUM_MISMATCH"
    status = 460


class UnsupportedChecksum(StorageError):
    """The checksum algorithm is not one of ``storage.uploads.CHECKSUM_ALGORITHMS``."""

    code = "UNSUPPORTED_CHECKSUM"
    status = 400
