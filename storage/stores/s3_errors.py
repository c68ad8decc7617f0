"""Translation of boto3/botocore failures into the storage error tree."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import (
    BlobNotFound,
    BucketNotFound,
    InvalidMultipart,
    MultipartNotFound,
    StorageError,
    StorageUnavailable,
)

__all__ = ["s3_errors"]

NOT_FOUND = {"NoSuchKey", "404", "NotFound"}
NO_UPLOAD = {"NoSuchUpload"}
BAD_MULTIPART = {"InvalidPart", "InvalidPartOrder", "EntityTooSmall", "MalformedXML"}
UNAVAILABLE = {
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "SlowDown",
    "ServiceUnavailable",
    "InternalError",
    "503",
    "500",
    "403",
}


@contextmanager
def s3_errors(subject: str, bucket: str) -> Iterator[None]:
    """Re-raise S3 failures about ``subject`` (a key, or the bucket) in ``bucket`` as
    ``StorageError`` subclasses; a missing bucket is ``BucketNotFound``, naming it."""
    try:
        yield
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code == "NoSuchBucket":
            raise BucketNotFound(f"the bucket {bucket!r} does not exist") from exc
        if code in NOT_FOUND:
            raise BlobNotFound(f"no blob {subject!r}") from exc
        if code in NO_UPLOAD:
            raise MultipartNotFound(f"no multipart upload for {subject!r}") from exc
        if code in BAD_MULTIPART:
            raise InvalidMultipart(f"S3 refused the multipart completion of {subject!r}: {code}") from exc
        if code in UNAVAILABLE:
            raise StorageUnavailable(f"S3 refused the request for {subject!r}: {code}") from exc
        raise StorageError(f"S3 error for {subject!r}: {code or exc}") from exc
    except BotoCoreError as exc:
        raise StorageUnavailable(f"S3 is not reachable ({type(exc).__name__}): {exc}") from exc
