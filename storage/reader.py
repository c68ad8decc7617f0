"""A seekable, read-only file object over one blob that fetches only the blocks it is asked for.

A demuxer handed this file reads a container's header, seeks to the part it needs and reads on,
so the store serves those blocks and not the whole blob. Blocks are fetched with the ranged
``BlobStore.open`` every store implements (a file seek for ``LocalStore``, a GET with a ``Range``
header for ``S3Store``), so it works over any store.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from typing import Any

from .base import CHUNK_SIZE, BlobStore
from .errors import StorageUnavailable

__all__ = ["BlobReader", "DEFAULT_BLOCK_SIZE", "DEFAULT_CACHE_BLOCKS"]

DEFAULT_BLOCK_SIZE = CHUNK_SIZE
"""Bytes fetched per request: large enough that a sequential read costs few requests, small
enough that reading a little past the bytes wanted wastes little."""

DEFAULT_CACHE_BLOCKS = 8
"""Blocks kept in memory, most recently used first; a demuxer's jumps back to a header or to
the data it read just before are served from them."""


class BlobReader(io.RawIOBase):
    """The blob ``key`` of ``store`` as a read-only binary file: ``read``, ``readinto``, ``seek``
    and ``tell`` in bytes, like a local file opened ``"rb"``.

    ``size`` (bytes) saves the ``stat`` request when the caller knows it. ``fetched`` counts the
    bytes fetched from the store and ``requests`` the ranged reads that fetched them. A store
    error while fetching propagates from ``read`` unchanged; a blob that turns out shorter than
    ``size`` raises ``StorageUnavailable``.
    """

    def __init__(
        self,
        store: BlobStore,
        key: str,
        *,
        size: int | None = None,
        block_size: int = DEFAULT_BLOCK_SIZE,
        cache_blocks: int = DEFAULT_CACHE_BLOCKS,
    ) -> None:
        if block_size < 1 or cache_blocks < 1:
            raise ValueError("block_size and cache_blocks must be at least 1")
        super().__init__()
        self.store, self.key = store, key
        self.size = store.stat(key).size if size is None else size
        self.block_size, self.cache_blocks = block_size, cache_blocks
        self.fetched = 0
        self.requests = 0
        self._position = 0
        self._blocks: OrderedDict[int, bytes] = OrderedDict()

    def __repr__(self) -> str:
        return f"BlobReader({self.store!r}, {self.key!r}, size={self.size})"

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        self._check_open()
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move to ``offset`` bytes from the start, the current position or the end; a position
        past the end is allowed (reads there return nothing), one before the start is not."""
        self._check_open()
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}.get(whence)
        if base is None:
            raise ValueError(f"invalid whence {whence!r}")
        if base + offset < 0:
            raise OSError(f"cannot seek to {base + offset}, before the start of {self.key!r}")
        self._position = base + offset
        return self._position

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` from the current position; fewer bytes only at the end of the blob."""
        self._check_open()
        target = memoryview(buffer).cast("B")
        done = 0
        while done < len(target) and self._position < self.size:
            index, start = divmod(self._position, self.block_size)
            block = self._block(index)
            count = min(len(target) - done, len(block) - start)
            target[done : done + count] = block[start : start + count]
            done += count
            self._position += count
        return done

    def close(self) -> None:
        self._blocks.clear()
        super().close()

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError(f"I/O operation on a closed reader of {self.key!r}")

    def _block(self, index: int) -> bytes:
        block = self._blocks.get(index)
        if block is not None:
            self._blocks.move_to_end(index)
            return block
        offset = index * self.block_size
        wanted = min(self.block_size, self.size - offset)
        block = b"".join(self.store.open(self.key, offset, wanted))
        self.requests += 1
        self.fetched += len(block)
        if len(block) != wanted:
            raise StorageUnavailable(
                f"blob {self.key!r} gave {len(block)} bytes at {offset}, not {wanted}: it is shorter than "
                f"the {self.size} bytes it had"
            )
        self._blocks[index] = block
        if len(self._blocks) > self.cache_blocks:
            self._blocks.popitem(last=False)
        return block
