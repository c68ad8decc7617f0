"""A blob store wrapper that counts what is read through it, for the benchmarks' byte figures.

Every read of a store goes through ``open`` (``read`` and ``download`` are built on it), so
counting the bytes ``open`` yields counts everything a caller read, whole-blob downloads and
ranged reads alike. Thread-safe.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from storage import BlobInfo, BlobStore

__all__ = ["CountingStore", "Reads"]


@dataclass
class Reads:
    """What was read of one key: ``bytes``, and ``requests`` (calls of ``open``)."""

    bytes: int = 0
    requests: int = 0


class CountingStore(BlobStore):
    """Delegates to ``inner`` and counts the reads of each key until the next :meth:`take`."""

    def __init__(self, inner: BlobStore) -> None:
        self.inner = inner
        self._reads: dict[str, Reads] = {}
        self._lock = threading.Lock()

    def take(self) -> dict[str, Reads]:
        """The reads of each key read since the last ``take``; counting then starts again."""
        with self._lock:
            reads, self._reads = self._reads, {}
        return reads

    def _counted(self, key: str, chunks: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            with self._lock:
                self._reads.setdefault(key, Reads()).bytes += len(chunk)
            yield chunk

    def open(self, key: str, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        chunks = self.inner.open(key, offset, length)
        with self._lock:
            self._reads.setdefault(key, Reads()).requests += 1
        return self._counted(key, chunks)

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
