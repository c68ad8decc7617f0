"""Errors of the tus upload endpoint, with the status codes the tus 1.0 protocol names."""

from __future__ import annotations

from control_plane.core.errors import BadRequest, Conflict, Forbidden, NotFound, ProblemError

__all__ = [
    "ChecksumUnsupported",
    "InvalidMetadata",
    "QuotaExceeded",
    "TooManyUploads",
    "TusVersionUnsupported",
    "UnsupportedMediaType",
    "UploadFinished",
    "UploadGone",
    "UploadLocked",
    "UploadMissing",
    "UploadTooLarge",
    "LengthInvalid",
    "OffsetConflict",
]


class TusVersionUnsupported(ProblemError):
    status, code, title = 412, "TUS_VERSION_UNSUPPORTED", "Unsupported tus version"

    def __init__(self, detail: str | None = None):
        super().__init__(detail, headers={"Tus-Version": "1.0.0"})


class UnsupportedMediaType(ProblemError):
    status, code, title = (
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        "Content-Type must be application/offset+octet-stream",
    )


class ChecksumUnsupported(BadRequest):
    code, title = "CHECKSUM_ALGORITHM_UNSUPPORTED", "Unsupported checksum algorithm"


class InvalidMetadata(BadRequest):
    code, title = "INVALID_METADATA", "Invalid Upload-Metadata"


class LengthInvalid(BadRequest):
    code, title = "INVALID_LENGTH", "Invalid upload length"


class UploadTooLarge(ProblemError):
    status, code, title = 413, "UPLOAD_TOO_LARGE", "Upload too large"


class QuotaExceeded(ProblemError):
    status, code, title = 413, "QUOTA_EXCEEDED", "Storage quota exceeded"


class TooManyUploads(ProblemError):
    status, code, title = 429, "TOO_MANY_UPLOADS", "Too many uploads in progress"


class UploadLocked(ProblemError):
    status, code, title = 423, "UPLOAD_LOCKED", "Another request is writing to this upload"


class UploadMissing(NotFound):
    code, title = "UPLOAD_NOT_FOUND", "No such upload"


class UploadGone(ProblemError):
    status, code, title = 410, "UPLOAD_EXPIRED", "Upload expired"


class UploadFinished(Forbidden):
    code, title = "UPLOAD_FINISHED", "Upload already finished"


class OffsetConflict(Conflict):
    code, title = "MISMATCHED_OFFSET", "Upload-Offset does not match"
