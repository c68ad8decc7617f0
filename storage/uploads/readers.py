"""Small file-like adapters used by the upload stores."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import BinaryIO, cast

__all__ = ["chunks_reader", "limited_reader"]


class _Limited(io.RawIOBase):
    """Reads at most ``limit`` bytes from ``source``, then reports EOF."""

    def __init__(self, source: BinaryIO, limit: int) -> None:
        self.source = source
        self.remaining = limit

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1, /) -> bytes:
        if self.remaining <= 0:
            return b""
        want = self.remaining if size is None or size < 0 else min(size, self.remaining)
        data = self.source.read(want)
        self.remaining -= len(data)
        return data

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _Chunks(io.RawIOBase):
    """A readable stream over an iterator of byte chunks."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.pending = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1, /) -> bytes:
        if not self.pending:
            self.pending = next(self.chunks, b"")
        if size is None or size < 0 or size >= len(self.pending):
            data, self.pending = self.pending, b""
        else:
            data, self.pending = self.pending[:size], self.pending[size:]
        return data

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def limited_reader(source: BinaryIO, limit: int) -> BinaryIO:
    """``source`` cut after ``limit`` bytes; short reads pass through unchanged."""
    return cast(BinaryIO, _Limited(source, limit))


def chunks_reader(chunks: Iterator[bytes]) -> BinaryIO:
    """A file-like view of ``chunks`` (each read returns bytes of at most one chunk)."""
    return cast(BinaryIO, _Chunks(chunks))
