"""BlobReader over every store: a seekable file that fetches only the blocks it is asked for."""

from __future__ import annotations

import io

import pytest

from storage import BlobNotFound, BlobReader, BlobStore, StorageUnavailable

BLOB = bytes(range(256)) * 40 + b"tail"  # 10244 bytes: ten full 1 KiB blocks and a 4-byte one


def test_reads_and_seeks_like_a_local_file(store: BlobStore) -> None:
    store.put("r/blob", BLOB)
    reader = BlobReader(store, "r/blob", block_size=1024)
    local = io.BytesIO(BLOB)
    assert reader.size == len(BLOB) and reader.readable() and reader.seekable()
    for offset, whence, count in [(0, 0, 100), (3000, 0, 2500), (-10, 2, 50), (-200, 1, 1), (5, 1, 0)]:
        assert reader.seek(offset, whence) == local.seek(offset, whence)
        assert reader.read(count) == local.read(count)
        assert reader.tell() == local.tell()
    assert reader.seek(0) == 0 and reader.read() == BLOB
    assert reader.seek(50, io.SEEK_END) == len(BLOB) + 50 and reader.read(10) == b""
    with pytest.raises(OSError):
        reader.seek(-1)
    reader.close()
    with pytest.raises(ValueError):
        reader.read(1)


def test_fetches_only_the_blocks_it_is_asked_for(store: BlobStore) -> None:
    store.put("r/blob", BLOB)
    reader = BlobReader(store, "r/blob", block_size=1024, cache_blocks=2)
    reader.seek(5000)
    assert reader.read(100) == BLOB[5000:5100]
    assert (reader.fetched, reader.requests) == (1024, 1)  # block 4 alone
    assert reader.read(2000) == BLOB[5100:7100]  # on through blocks 5 and 6
    assert (reader.fetched, reader.requests) == (3 * 1024, 3)
    reader.seek(6000)
    reader.read(10)
    assert reader.requests == 3  # block 5 is still cached
    reader.seek(4096)
    reader.read(10)
    assert reader.requests == 4  # block 4 was evicted by 5 and 6
    reader.seek(10240)
    assert reader.read(100) == b"tail" and reader.fetched == 4 * 1024 + 4


def test_missing_and_shrunken_blobs(store: BlobStore) -> None:
    with pytest.raises(BlobNotFound):
        BlobReader(store, "r/missing")
    store.put("r/blob", BLOB)
    reader = BlobReader(store, "r/blob", size=len(BLOB) + 1000, block_size=4096)
    assert reader.read(10) == BLOB[:10]
    reader.seek(10000)
    with pytest.raises(StorageUnavailable):
        reader.read(10)
    with pytest.raises(ValueError):
        BlobReader(store, "r/blob", block_size=0)
