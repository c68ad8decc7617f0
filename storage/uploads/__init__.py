"""Resumable uploads (the storage side of tus): durable offsets over any blob store.

``upload_store_for(store)`` picks ``AppendUploadStore`` for stores that append in place (local
files) and ``MultipartUploadStore`` for stores with multipart uploads (S3). Both also implement
the optional ``Terminater``, ``Concater`` and ``LengthDeferrer`` capabilities.
"""

from __future__ import annotations

from ..base import AppendCapable, BlobStore, MultipartCapable
from .append import AppendUploadStore
from .base import Concater, LengthDeferrer, Terminater, UploadStore
from .checksum import CHECKSUM_ALGORITHMS, spool_verified
from .info import UploadInfo, validate_upload_id
from .multipart import DEFAULT_PART_SIZE, MultipartUploadStore
from .recorded import RecordedUploadStore

__all__ = [
    "CHECKSUM_ALGORITHMS",
    "DEFAULT_PART_SIZE",
    "AppendUploadStore",
    "Concater",
    "LengthDeferrer",
    "MultipartUploadStore",
    "RecordedUploadStore",
    "Terminater",
    "UploadInfo",
    "UploadStore",
    "spool_verified",
    "upload_store_for",
    "validate_upload_id",
]


def upload_store_for(store: BlobStore, *, prefix: str = "uploads/") -> RecordedUploadStore:
    """The upload store suited to ``store``; ``TypeError`` if it can neither append nor multipart."""
    if isinstance(store, AppendCapable):
        return AppendUploadStore(store, prefix=prefix)
    if isinstance(store, MultipartCapable):
        part_size = max(DEFAULT_PART_SIZE, store.min_part_size)
        return MultipartUploadStore(store, prefix=prefix, part_size=part_size)
    raise TypeError(f"{store!r} supports neither append nor multipart uploads")
