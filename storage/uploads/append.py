"""Uploads on a store that appends in place (``LocalStore``): the data file grows with fsync.

The durable offset is the data blob's size, so a crash loses nothing that ``write`` returned.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import BinaryIO

from ..base import AppendCapable, BlobStore
from ..errors import BlobNotFound, UploadNotFound
from .info import UploadRecord
from .recorded import RecordedUploadStore, utc_now

__all__ = ["AppendUploadStore"]


class AppendUploadStore(RecordedUploadStore):
    """Resumable uploads over a ``BlobStore`` that is also ``AppendCapable``."""

    def __init__(
        self, store: BlobStore, *, prefix: str = "uploads/", clock: Callable[[], datetime] = utc_now
    ) -> None:
        if not isinstance(store, AppendCapable):
            raise TypeError(f"{store!r} cannot append; use MultipartUploadStore")
        super().__init__(store, prefix=prefix, clock=clock)
        self.appender: AppendCapable = store

    def _start(self, record: UploadRecord) -> None:
        key = self.data_key(record.id)
        self.store.delete(key)  # a leftover from a create that crashed before its record was saved
        self.appender.append(key, b"", expected_offset=0)

    def _offset(self, record: UploadRecord) -> int:
        try:
            return self.appender.size(self.data_key(record.id))
        except BlobNotFound as exc:
            raise UploadNotFound(f"the data of upload {record.id!r} is gone") from exc

    def _append(self, record: UploadRecord, offset: int, stream: BinaryIO) -> int:
        return self.appender.append(self.data_key(record.id), stream, expected_offset=offset)

    def _assemble(self, record: UploadRecord) -> None:
        """Nothing to do: the data blob already is the finished blob."""

    def _discard(self, record: UploadRecord) -> None:
        self.store.delete(self.data_key(record.id))
