"""Uploads on a store with multipart uploads (``S3Store``): parts plus a persisted tail.

An upload ``ID`` owns one multipart upload to its data key. Bytes arrive in a buffer; every
``part_size`` bytes become part ``n``, and what is left when ``write`` returns (less than a part)
is stored as the blob ``ID.tail.<n+1>``: the tail that belongs before part ``n+1``. The durable
offset is the size of the uploaded parts plus the size of the tail whose number is one past the
last part. A tail with a lower number is stale (its bytes went into a part before a crash could
delete it) and is ignored, then removed. So a crash at any point loses only unacknowledged bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import BinaryIO

from ..base import CHUNK_SIZE, BlobStore, MultipartCapable, Part
from ..errors import BlobNotFound, MultipartNotFound, UploadNotFound
from .info import UploadRecord
from .recorded import RecordedUploadStore, utc_now

__all__ = ["DEFAULT_PART_SIZE", "MultipartUploadStore"]

DEFAULT_PART_SIZE = 5 * 1024 * 1024


class MultipartUploadStore(RecordedUploadStore):
    """Resumable uploads over a ``BlobStore`` that is also ``MultipartCapable``.

    ``part_size`` (bytes) is the size of every part but the last; memory use per write is about
    one part plus one chunk.
    """

    def __init__(
        self,
        store: BlobStore,
        *,
        prefix: str = "uploads/",
        part_size: int = DEFAULT_PART_SIZE,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if not isinstance(store, MultipartCapable):
            raise TypeError(f"{store!r} has no multipart uploads; use AppendUploadStore")
        if part_size < max(1, store.min_part_size):
            raise ValueError(f"part_size must be at least {store.min_part_size} bytes for {store!r}")
        super().__init__(store, prefix=prefix, clock=clock)
        self.multipart: MultipartCapable = store
        self.part_size = part_size

    def _tail_key(self, record: UploadRecord, number: int) -> str:
        return f"{self.data_key(record.id)}.tail.{number}"

    def _upload_id(self, record: UploadRecord) -> str:
        if record.multipart_id is None:
            raise UploadNotFound(f"upload {record.id!r} has no multipart upload")
        return record.multipart_id

    def _state(self, record: UploadRecord) -> tuple[list[Part], bytes]:
        """The uploaded parts and the current tail's bytes (less than one part)."""
        parts = self.multipart.list_parts(self.data_key(record.id), self._upload_id(record))
        try:
            tail = self.store.read(self._tail_key(record, len(parts) + 1))
        except BlobNotFound:
            tail = b""
        return parts, tail

    def _drop_stale_tails(self, record: UploadRecord, keep: int | None) -> None:
        for blob in self.store.list(self.data_key(record.id) + ".tail."):
            if keep is None or blob.key != self._tail_key(record, keep):
                self.store.delete(blob.key)

    def _start(self, record: UploadRecord) -> None:
        self._drop_stale_tails(record, None)
        record.multipart_id = self.multipart.create_multipart(self.data_key(record.id))

    def _offset(self, record: UploadRecord) -> int:
        try:
            parts, tail = self._state(record)
        except MultipartNotFound:
            # completed by a finish() that crashed before saving its record: the blob is whole
            try:
                return self.store.stat(self.data_key(record.id)).size
            except BlobNotFound as exc:
                raise UploadNotFound(f"the data of upload {record.id!r} is gone (multipart aborted)") from exc
        return sum(part.size for part in parts) + len(tail)

    def _append(self, record: UploadRecord, offset: int, stream: BinaryIO) -> int:
        key, upload_id = self.data_key(record.id), self._upload_id(record)
        parts, tail = self._state(record)
        number = len(parts)
        base = sum(part.size for part in parts)
        buffer = bytearray(tail)
        try:
            while True:
                while len(buffer) >= self.part_size:
                    with memoryview(buffer) as view:
                        part = bytes(view[: self.part_size])  # one copy, not a slice and a copy
                    self.multipart.upload_part(key, upload_id, number + 1, part)
                    del part
                    number += 1
                    del buffer[: self.part_size]
                    base += self.part_size
                chunk = stream.read(CHUNK_SIZE)
                if not chunk:
                    break
                buffer += chunk
        finally:
            # also on a failed read: keep every byte received, as the tail before part number + 1
            if buffer:
                self.store.put(self._tail_key(record, number + 1), bytes(buffer))
            self._drop_stale_tails(record, number + 1 if buffer else None)
        return base + len(buffer)

    def _assemble(self, record: UploadRecord) -> None:
        key = self.data_key(record.id)
        try:
            parts, tail = self._state(record)
        except MultipartNotFound:
            self.store.stat(key)  # already completed before a crash; BlobNotFound if not
            return
        upload_id = self._upload_id(record)
        if not parts:
            # below one part: a plain put, then the abort (a crash between them loses nothing)
            self.store.put(key, tail)
            self.multipart.abort_multipart(key, upload_id)
        else:
            if tail:
                parts.append(self.multipart.upload_part(key, upload_id, len(parts) + 1, tail))
            self.multipart.complete_multipart(key, upload_id, parts)
        self._drop_stale_tails(record, None)

    def _discard(self, record: UploadRecord) -> None:
        key = self.data_key(record.id)
        if record.multipart_id is not None:
            self.multipart.abort_multipart(key, record.multipart_id)
        self._drop_stale_tails(record, None)
        self.store.delete(key)
