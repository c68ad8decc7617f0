"""A blob store wrapper that counts the bytes read through it, for the benchmarks' byte figures.

Every read of a store goes through ``open`` (``read`` and ``download`` are built on it), so
counting the bytes ``open`` yields counts everything a caller read, whole-blob downloads and
ranged reads alike. Counters are per wrapper; thread-safe.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import BinaryIO

from storage import BlobInfo, BlobStore

__all__ = ["CountingStore"]


class CountingStore(BlobStore):
    """Delegates to ``inner``; ``bytes_read`` and ``reads`` (``open`` calls) grow with every read."""

    def __init__(self, inner: BlobStore) -> None:
        self.inner = inner
        self.bytes_read = 0
        self.reads = 0
        self._lock = threading.Lock()

    def take(self) -> tuple[int, int]:
        """``(bytes_read, reads)`` since the last ``take``, then both start again from zero."""
        with self._lock:
            counts = self.bytes_read, self.reads
            self.bytes_read = self.reads = 0
        return counts

    def _count(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            with self._lock:
                self.bytes_read += len(chunk)
            yield chunk

    def open(self, key: str, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        chunks = self.inner.open(key, offset, length)
        with self._lock:
            self.reads += 1
        return self._count(chunks)

    def put(
        self, key: str, data: bytes | BinaryIO, *, content_type: str | None = None, durable: bool = True
    ) -> int:
        return self.inner.put(key, data, content_type=content_type, durable=durable)

    def stat(self, key: str) -> BlobInfo:
        return self.inner.stat(key)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def list(self, prefix: str = "") -> Iterator[BlobInfo]:
        return self.inner.list(prefix)

    def signed_url(self, key: str, expires_in: int, *, public_base: str | None = None) -> str:
        return self.inner.signed_url(key, expires_in, public_base=public_base)

    def ping(self) -> None:
        self.inner.ping()
