"""The shared half of the upload stores: records, ids, checks, concatenation and expiry.

Layout under ``prefix`` (default ``uploads/``) in the blob store, for an upload ``ID``:
``ID.info`` is the JSON record, ``ID`` the data and, when finished, the final blob. Backends add
their own keys that start with ``ID.`` (ids contain no dots, so no upload's keys shadow another's).
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import BinaryIO

from ..base import BlobStore
from ..errors import (
    BlobNotFound,
    InvalidUpload,
    OffsetMismatch,
    UploadExists,
    UploadExpired,
    UploadForbidden,
    UploadIncomplete,
    UploadNotFound,
)
from ..keys import validate_prefix
from .base import Concater, LengthDeferrer, Terminater, UploadStore
from .info import UploadInfo, UploadRecord, validate_upload_id
from .readers import chunks_reader, limited_reader

__all__ = ["RecordedUploadStore"]

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class RecordedUploadStore(UploadStore, Terminater, Concater, LengthDeferrer):
    """An upload store keeping its records as JSON blobs; subclasses say how data is made durable."""

    def __init__(
        self, store: BlobStore, *, prefix: str = "uploads/", clock: Callable[[], datetime] = utc_now
    ) -> None:
        validate_prefix(prefix)
        self.store = store
        self.prefix = prefix
        self.clock = clock

    def data_key(self, upload_id: str) -> str:
        """Where the upload's data, then its finished blob, lives."""
        return self.prefix + validate_upload_id(upload_id)

    def _record_key(self, upload_id: str) -> str:
        return self.data_key(upload_id) + ".info"

    def _load(self, upload_id: str) -> UploadRecord:
        try:
            return UploadRecord.from_json(self.store.read(self._record_key(upload_id)))
        except BlobNotFound as exc:
            raise UploadNotFound(f"no upload {upload_id!r}") from exc

    def _save(self, record: UploadRecord) -> None:
        self.store.put(self._record_key(record.id), record.to_json(), content_type="application/json")

    def _view(self, record: UploadRecord) -> UploadInfo:
        offset = record.length if record.finished and record.length is not None else self._offset(record)
        return UploadInfo(
            id=record.id,
            offset=offset,
            length=record.length,
            metadata=dict(record.metadata),
            expires_at=record.expires_at,
            is_partial=record.is_partial,
            is_final=record.is_final,
            parts=record.parts,
            key=self.data_key(record.id),
            finished=record.finished,
        )

    @abstractmethod
    def _start(self, record: UploadRecord) -> None:
        """Prepare empty durable data for a new upload (may set ``record.multipart_id``)."""

    @abstractmethod
    def _offset(self, record: UploadRecord) -> int:
        """The durable number of bytes of an unfinished upload."""

    @abstractmethod
    def _append(self, record: UploadRecord, offset: int, stream: BinaryIO) -> int:
        """Append ``stream`` to EOF durably at ``offset``; keep what was read if reading fails."""

    @abstractmethod
    def _assemble(self, record: UploadRecord) -> None:
        """Make the complete data the blob at ``data_key``."""

    @abstractmethod
    def _discard(self, record: UploadRecord) -> None:
        """Delete the data and every pending piece; missing pieces are not an error."""

    def create(
        self,
        upload_id: str,
        length: int | None,
        metadata: dict[str, str],
        *,
        expires_at: datetime | None,
        is_partial: bool = False,
    ) -> UploadInfo:
        record = self._new_record(upload_id, length, metadata, expires_at)
        record.is_partial = is_partial
        self._start(record)
        self._save(record)
        return self._view(record)

    def _new_record(
        self, upload_id: str, length: int | None, metadata: dict[str, str], expires_at: datetime | None
    ) -> UploadRecord:
        validate_upload_id(upload_id)
        if length is not None and (not isinstance(length, int) or length < 0):
            raise InvalidUpload(f"upload length must be a non-negative integer or None, got {length!r}")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise InvalidUpload("upload metadata keys and values must be strings")
        if expires_at is not None and expires_at.tzinfo is None:
            raise ValueError("expires_at must be timezone-aware")
        if self.store.exists(self._record_key(upload_id)):
            raise UploadExists(f"upload {upload_id!r} already exists")
        return UploadRecord(id=upload_id, length=length, metadata=dict(metadata), expires_at=expires_at)

    def info(self, upload_id: str) -> UploadInfo:
        return self._view(self._load(upload_id))

    def write(self, upload_id: str, offset: int, stream: BinaryIO, *, max_bytes: int) -> int:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        record = self._load(upload_id)
        if record.is_final or record.finished:
            raise UploadForbidden(f"upload {upload_id!r} is {'final' if record.is_final else 'finished'}")
        if record.expires_at is not None and record.expires_at <= self.clock():
            raise UploadExpired(f"upload {upload_id!r} expired at {record.expires_at.isoformat()}")
        current = self._offset(record)
        if offset != current:
            raise OffsetMismatch(
                f"upload {upload_id!r} is at offset {current}, not {offset}", expected=offset, actual=current
            )
        limit = max_bytes if record.length is None else min(max_bytes, record.length - current)
        if limit == 0:
            return current
        return self._append(record, current, limited_reader(stream, limit))

    def finish(self, upload_id: str) -> str:
        record = self._load(upload_id)
        if not record.finished:
            offset = self._offset(record)
            if record.length is None or offset != record.length:
                raise UploadIncomplete(f"upload {upload_id!r} has {offset} of {record.length} bytes")
            self._assemble(record)
            record.finished = True
            self._save(record)
            log.info("upload %s finished (%d bytes)", upload_id, record.length)
        return self.data_key(upload_id)

    def forget(self, upload_id: str) -> None:
        record = self._load(upload_id)
        if not record.finished:
            raise UploadIncomplete(f"upload {upload_id!r} is not finished; terminate it instead")
        self.store.delete(self._record_key(upload_id))

    def terminate(self, upload_id: str) -> None:
        record = self._load(upload_id)
        self._discard(record)
        self.store.delete(self._record_key(upload_id))
        log.info("upload %s terminated", upload_id)

    def declare_length(self, upload_id: str, length: int) -> UploadInfo:
        record = self._load(upload_id)
        if record.length is not None:
            raise InvalidUpload(f"upload {upload_id!r} already has length {record.length}")
        offset = self._offset(record)
        if not isinstance(length, int) or length < offset:
            raise InvalidUpload(f"length {length!r} is below the {offset} bytes already received")
        record.length = length
        self._save(record)
        return self._view(record)

    def concatenate(
        self,
        final_id: str,
        partial_ids: Sequence[str],
        *,
        metadata: dict[str, str] | None = None,
        expires_at: datetime | None = None,
    ) -> UploadInfo:
        """Streams each partial's finished blob into the final upload (bounded memory)."""
        if not partial_ids:
            raise InvalidUpload("a final upload needs at least one partial upload")
        partials = [self._load(pid) for pid in partial_ids]
        for partial in partials:
            if not partial.is_partial:
                raise InvalidUpload(f"upload {partial.id!r} was not created as a partial upload")
            if partial.length is None or self._view(partial).offset != partial.length:
                raise UploadIncomplete(f"partial upload {partial.id!r} is not complete")
        total = sum(partial.length or 0 for partial in partials)
        record = self._new_record(final_id, total, metadata or {}, expires_at)
        record.is_final = True
        record.parts = tuple(partial_ids)
        self._start(record)
        self._save(record)
        offset = 0
        for partial in partials:
            key = self.finish(partial.id)
            offset = self._append(record, offset, chunks_reader(self.store.open(key)))
        self.finish(final_id)
        return self.info(final_id)

    def expired(self, now: datetime) -> list[str]:
        ids = []
        for blob in self.store.list(self.prefix):
            name = blob.key[len(self.prefix) :]
            if "/" in name or not name.endswith(".info"):
                continue
            try:
                record = self._load(name.removesuffix(".info"))
            except UploadNotFound:
                continue  # terminated while listing
            if not record.finished and record.expires_at is not None and record.expires_at <= now:
                ids.append(record.id)
        return sorted(ids)
