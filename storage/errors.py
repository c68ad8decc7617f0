"""The project's error base, and the storage error tree.

``SocialFlowError`` is the one base of every error Social Flow raises on purpose, in every
package: each knows its wire form (a stable ``code``, an HTTP ``status``, an optional ``title``)
and carries ``detail``, a sentence for whoever reads it. The control plane maps them all to RFC
9457 problem+json with one handler. It lives here, on the ground floor, because every package
may import ``storage`` and ``storage`` imports none of them.
"""

from __future__ import annotations

__all__ = [
    "SocialFlowError",
    "BlobNotFound",
    "BucketNotFound",
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


class SocialFlowError(Exception):
    """Base of every error of the project.

    Subclasses set ``status`` (HTTP), ``code`` (stable, upper case) and, where the code does not
    say it well, ``title`` (the same for every instance) and ``default_detail``. ``detail`` is
    per raise; ``headers`` are sent with the problem response (``Retry-After``, ``Allow``).
    """

    status: int = 500
    code: str = "INTERNAL_ERROR"
    title: str | None = None
    default_detail: str | None = None

    def __init__(
        self, detail: str | None = None, *, code: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        if code:
            self.code = code
        self.detail: str = detail or self.default_detail or self.summary
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(self.detail)

    @property
    def summary(self) -> str:
        """The title, or one made from the code (``BLOB_NOT_FOUND`` -> ``Blob not found``)."""
        return self.title or self.code.replace("_", " ").capitalize()


class StorageError(SocialFlowError):
    """Base of every storage error."""

    code = "STORAGE_ERROR"


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


class BucketNotFound(StorageUnavailable):
    """The store's S3 bucket does not exist: nothing can be stored until it is created."""

    code = "BUCKET_NOT_FOUND"


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
