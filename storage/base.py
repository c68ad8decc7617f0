"""The blob store interface and its optional capabilities.

Keys are validated by ``storage.keys.validate_key``. Sizes and offsets are in bytes. Every store
streams: ``put`` reads a file-like object in bounded chunks and ``open`` yields bounded chunks, so
memory use does not grow with the blob's size.
"""

from __future__ import annotations

import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from .errors import BlobNotFound

__all__ = [
    "CHUNK_SIZE",
    "AppendCapable",
    "BlobInfo",
    "BlobStore",
    "MultipartCapable",
    "Part",
    "as_appendable",
    "as_multipart",
    "supports",
]

CHUNK_SIZE = 1024 * 1024
"""Bytes per chunk when streaming (reads from file-like objects and chunks yielded by ``open``)."""


@dataclass(frozen=True)
class BlobInfo:
    """What a store knows of one blob. ``etag`` is opaque and changes when the content changes."""

    key: str
    size: int
    etag: str
    modified: datetime


@dataclass(frozen=True)
class Part:
    """One uploaded part of a multipart upload; ``number`` starts at 1, ``size`` is in bytes."""

    number: int
    etag: str
    size: int


def check_range(offset: int, length: int | None) -> None:
    """Refuse negative offsets and lengths with ``ValueError``."""
    if offset < 0:
        raise ValueError(f"offset must be >= 0, got {offset}")
    if length is not None and length < 0:
        raise ValueError(f"length must be >= 0 or None, got {length}")


class BlobStore(ABC):
    """A flat namespace of immutable-once-written blobs addressed by key."""

    @abstractmethod
    def put(
        self, key: str, data: bytes | BinaryIO, *, content_type: str | None = None, durable: bool = True
    ) -> int:
        """Store ``data`` under ``key``, replacing any blob there, and return the bytes written.

        A file-like ``data`` is read in ``CHUNK_SIZE`` reads until EOF. Readers never see a
        half-written blob: the new content appears at once or not at all. ``durable=False`` is
        for blobs that are useless after a crash anyway (live playlists and parts): a store may
        then skip flushing them to stable storage, never the all-or-nothing visibility.
        """

    @abstractmethod
    def open(self, key: str, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        """Yield the bytes ``[offset, offset + length)`` of the blob in chunks of at most ``CHUNK_SIZE``.

        Raises ``BlobNotFound`` at call time (not on first iteration). A range running past the
        end is cut at the end; an offset at or past the end yields nothing. ``length=None``
        means to the end.
        """

    @abstractmethod
    def stat(self, key: str) -> BlobInfo:
        """Describe the blob; raises ``BlobNotFound``."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the blob; deleting a missing key is not an error."""

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[BlobInfo]:
        """Yield every blob whose key starts with ``prefix``, sorted by key."""

    @abstractmethod
    def signed_url(self, key: str, expires_in: int, *, public_base: str | None = None) -> str:
        """A URL that lets its holder GET the blob for ``expires_in`` seconds without credentials.

        ``public_base`` is the origin (scheme, host, optional path) that clients reach the
        storage through, when it differs from the store's own address.
        """

    @abstractmethod
    def ping(self) -> None:
        """Return if the backend answers; raise ``StorageUnavailable`` otherwise."""

    def read(self, key: str, offset: int = 0, length: int | None = None) -> bytes:
        """The bytes of ``open(key, offset, length)`` joined; for small blobs only."""
        return b"".join(self.open(key, offset, length))

    def exists(self, key: str) -> bool:
        """Whether a blob is stored under ``key``."""
        try:
            self.stat(key)
        except BlobNotFound:
            return False
        return True

    def delete_prefix(self, prefix: str) -> int:
        """Delete every blob whose key starts with ``prefix``; return how many were deleted."""
        keys = [info.key for info in self.list(prefix)]
        for key in keys:
            self.delete(key)
        return len(keys)

    def download(self, key: str, path: str | os.PathLike[str]) -> int:
        """Copy the blob to the local file ``path`` (atomically replaced); return its size in bytes."""
        target = Path(path)
        chunks = self.open(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        written = 0
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                    written += len(chunk)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return written

    def upload(self, path: str | os.PathLike[str], key: str, content_type: str | None = None) -> int:
        """Store the local file ``path`` under ``key``; return the bytes written."""
        with open(path, "rb") as source:
            return self.put(key, source, content_type=content_type)


class MultipartCapable(ABC):
    """A store that assembles one blob from separately uploaded parts (S3 semantics).

    Every part but the last must hold at least ``min_part_size`` bytes.
    """

    min_part_size: int = 1

    @abstractmethod
    def create_multipart(self, key: str) -> str:
        """Start a multipart upload to ``key`` and return its upload id."""

    @abstractmethod
    def upload_part(self, key: str, upload_id: str, part_number: int, data: bytes) -> Part:
        """Store one part (``1 <= part_number <= 10000``), replacing a part with that number."""

    @abstractmethod
    def list_parts(self, key: str, upload_id: str) -> list[Part]:
        """The parts stored so far, sorted by number; raises ``MultipartNotFound``."""

    @abstractmethod
    def complete_multipart(self, key: str, upload_id: str, parts: Sequence[Part]) -> None:
        """Join ``parts`` (ascending numbers) into the blob ``key``; the upload id then ends."""

    @abstractmethod
    def abort_multipart(self, key: str, upload_id: str) -> None:
        """Drop the upload and its parts; aborting an unknown upload is not an error."""


class AppendCapable(ABC):
    """A store that grows a blob in place, durably, at a known offset (local files)."""

    @abstractmethod
    def append(self, key: str, data: BinaryIO | bytes, *, expected_offset: int) -> int:
        """Append ``data`` to the blob (created when ``expected_offset`` is 0) and return its new size.

        Raises ``OffsetMismatch`` unless the blob's size is ``expected_offset``. The bytes are
        fsync'd before returning. If reading ``data`` fails midway, the bytes already appended
        are kept and fsync'd and the error propagates; ``size`` then tells the durable size.
        """

    @abstractmethod
    def size(self, key: str) -> int:
        """The blob's size in bytes; raises ``BlobNotFound``."""


def supports(store: object, cap: type) -> bool:
    """Whether ``store`` implements the optional capability interface ``cap``."""
    return isinstance(store, cap)


def as_multipart(store: object) -> MultipartCapable | None:
    """``store`` as ``MultipartCapable`` when it has that capability, else ``None``."""
    return store if isinstance(store, MultipartCapable) else None


def as_appendable(store: object) -> AppendCapable | None:
    """``store`` as ``AppendCapable`` when it has that capability, else ``None``."""
    return store if isinstance(store, AppendCapable) else None
