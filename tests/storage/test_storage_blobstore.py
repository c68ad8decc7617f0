"""The blob store contract, run against LocalStore and S3Store (SeaweedFS)."""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from storage import (
    CHUNK_SIZE,
    AppendCapable,
    BlobNotFound,
    BlobStore,
    InvalidKey,
    InvalidMultipart,
    MultipartCapable,
    MultipartNotFound,
    OffsetMismatch,
    Part,
    S3Store,
    as_appendable,
    as_multipart,
    supports,
)

PAYLOAD = bytes(range(256)) * 40  # 10240 bytes, every byte value


class GeneratedStream(io.RawIOBase):
    """A read-only stream of ``size`` pseudo-random bytes produced on demand (never all in memory)."""

    def __init__(self, size: int, seed: bytes = b"seed") -> None:
        self.remaining = size
        self.counter = 0
        self.seed = seed
        self.digest = hashlib.sha256()
        self.buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: memoryview) -> int:  # type: ignore[override]
        want = min(len(target), self.remaining)
        while len(self.buffer) < want:
            block = hashlib.sha512(self.seed + self.counter.to_bytes(8, "big")).digest() * 512
            self.counter += 1
            self.buffer += block
        piece, self.buffer = self.buffer[:want], self.buffer[want:]
        target[:want] = piece
        self.digest.update(piece)
        self.remaining -= want
        return want


def test_put_bytes_and_read_back(store: BlobStore) -> None:
    assert store.put("videos/a/source.bin", PAYLOAD, content_type="application/octet-stream") == len(PAYLOAD)
    assert store.read("videos/a/source.bin") == PAYLOAD
    chunks = list(store.open("videos/a/source.bin"))
    assert b"".join(chunks) == PAYLOAD
    assert all(len(chunk) <= CHUNK_SIZE for chunk in chunks)


def test_put_not_durable_is_still_whole_and_readable(
    store: BlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    assert store.put("live/a/part0.m4s", b"x" * 1000, durable=False) == 1000
    assert store.put("live/a/part0.m4s", io.BytesIO(b"y" * 10), durable=False) == 10
    assert b"".join(store.open("live/a/part0.m4s")) == b"y" * 10
    assert synced == []  # nothing flushed to stable storage (S3 never calls fsync at all)
    store.put("videos/a/seg.m4s", b"z")
    assert b"".join(store.open("videos/a/seg.m4s")) == b"z"


def test_put_stream_replaces_existing(store: BlobStore) -> None:
    store.put("k", b"old content that is longer")
    assert store.put("k", io.BytesIO(b"new")) == 3
    assert store.read("k") == b"new"
    assert store.stat("k").size == 3


def test_empty_blob(store: BlobStore) -> None:
    assert store.put("empty", b"") == 0
    assert store.read("empty") == b""
    assert store.read("empty", 0, 10) == b""
    assert store.stat("empty").size == 0


@pytest.mark.parametrize(
    ("offset", "length", "expected"),
    [
        (0, None, PAYLOAD),
        (100, None, PAYLOAD[100:]),
        (100, 50, PAYLOAD[100:150]),
        (0, 1, PAYLOAD[:1]),
        (len(PAYLOAD) - 10, 100, PAYLOAD[-10:]),
        (len(PAYLOAD), None, b""),
        (len(PAYLOAD) + 5, 3, b""),
        (5, 0, b""),
    ],
)
def test_byte_ranges(store: BlobStore, offset: int, length: int | None, expected: bytes) -> None:
    store.put("r/blob", PAYLOAD)
    assert store.read("r/blob", offset, length) == expected


def test_negative_ranges_refused(store: BlobStore) -> None:
    store.put("r/blob", PAYLOAD)
    with pytest.raises(ValueError):
        store.read("r/blob", -1)
    with pytest.raises(ValueError):
        store.read("r/blob", 0, -5)


def test_missing_blob(store: BlobStore) -> None:
    with pytest.raises(BlobNotFound) as caught:
        store.open("nope/missing")
    assert caught.value.code == "BLOB_NOT_FOUND" and caught.value.status == 404
    with pytest.raises(BlobNotFound):
        store.stat("nope/missing")
    with pytest.raises(BlobNotFound):
        store.read("nope/missing", 0, 0)
    assert not store.exists("nope/missing")


def test_stat_exists_delete_idempotent(store: BlobStore) -> None:
    before = datetime.now(UTC) - timedelta(minutes=5)
    store.put("d/x.txt", b"hello")
    info = store.stat("d/x.txt")
    assert (info.key, info.size) == ("d/x.txt", 5)
    assert info.etag and before <= info.modified <= datetime.now(UTC) + timedelta(minutes=5)
    store.put("d/x.txt", b"hello, changed")
    assert store.stat("d/x.txt").etag != info.etag
    assert store.exists("d/x.txt")
    store.delete("d/x.txt")
    assert not store.exists("d/x.txt")
    store.delete("d/x.txt")
    store.delete("never/was")


def test_list_by_prefix_sorted(store: BlobStore) -> None:
    keys = ["b/2", "a/1", "a/10", "a/0/deep", "ab", "c", "a/2"]
    for index, key in enumerate(keys):
        store.put(key, b"x" * index)
    assert [info.key for info in store.list("a/")] == ["a/0/deep", "a/1", "a/10", "a/2"]
    assert [info.key for info in store.list("a")] == ["a/0/deep", "a/1", "a/10", "a/2", "ab"]
    assert [info.key for info in store.list("")] == sorted(keys)
    assert [(i.key, i.size) for i in store.list("b/")] == [("b/2", 0)]
    assert list(store.list("zzz/")) == []


def test_delete_prefix(store: BlobStore) -> None:
    for key in ["v/1/a", "v/1/b", "v/1/c/d", "v/10/a", "w"]:
        store.put(key, b"data")
    assert store.delete_prefix("v/1/") == 3
    assert [info.key for info in store.list("")] == ["v/10/a", "w"]
    assert store.delete_prefix("v/1/") == 0


def test_large_stream_bounded_memory(store: BlobStore) -> None:
    size = 20 * 1024 * 1024 + 123
    if isinstance(store, S3Store):
        store.part_size = store.min_part_size  # multipart above 5 MiB, exercised with 5 parts
    source = GeneratedStream(size)
    tracemalloc.start()
    try:
        written = store.put("big/stream.bin", io.BufferedReader(source))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert written == size
    assert peak < 16 * 1024 * 1024, f"put used {peak} bytes of Python memory for a {size} byte stream"
    assert store.stat("big/stream.bin").size == size
    digest = hashlib.sha256()
    for chunk in store.open("big/stream.bin"):
        assert len(chunk) <= CHUNK_SIZE
        digest.update(chunk)
    assert digest.hexdigest() == source.digest.hexdigest()
    assert store.read("big/stream.bin", 7 * 1024 * 1024 - 3, 6) == _slice_of(size, 7 * 1024 * 1024 - 3, 6)


def _slice_of(size: int, offset: int, length: int) -> bytes:
    stream = GeneratedStream(size)
    stream.read(offset)
    return stream.read(length)


def test_upload_and_download_files(store: BlobStore, tmp_path: Path) -> None:
    source = tmp_path / "in.bin"
    source.write_bytes(PAYLOAD * 3)
    assert store.upload(source, "files/in.bin", "video/mp4") == len(PAYLOAD) * 3
    target = tmp_path / "out" / "copy.bin"
    assert store.download("files/in.bin", target) == len(PAYLOAD) * 3
    assert target.read_bytes() == PAYLOAD * 3
    with pytest.raises(BlobNotFound):
        store.download("files/missing", tmp_path / "never.bin")
    assert not (tmp_path / "never.bin").exists()


@pytest.mark.parametrize(
    "key",
    ["", "/abs/key", "a/../b", "..", "./a", "a//b", "a/", "a\\b", "a\x00b", "a\nb", "a\x7fb", "k" * 1025],
)
def test_invalid_keys_refused(store: BlobStore, key: str) -> None:
    with pytest.raises(InvalidKey) as caught:
        store.put(key, b"x")
    assert caught.value.status == 400 and caught.value.code == "INVALID_KEY"
    with pytest.raises(InvalidKey):
        store.stat(key)
    with pytest.raises(InvalidKey):
        store.delete(key)


def test_unicode_keys(store: BlobStore) -> None:
    store.put("titles/café ünïcode/ファイル.txt", b"ok")
    assert store.read("titles/café ünïcode/ファイル.txt") == b"ok"
    assert [i.key for i in store.list("titles/")] == ["titles/café ünïcode/ファイル.txt"]


def test_ping(store: BlobStore) -> None:
    store.ping()


def test_multipart_capability(store: BlobStore) -> None:
    multipart = as_multipart(store)
    assert multipart is not None and supports(store, MultipartCapable)
    size = multipart.min_part_size
    first, second, last = b"a" * size, b"b" * size, b"tail"
    upload_id = multipart.create_multipart("mp/obj")
    part2 = multipart.upload_part("mp/obj", upload_id, 2, second)
    part1 = multipart.upload_part("mp/obj", upload_id, 1, first)
    part3 = multipart.upload_part("mp/obj", upload_id, 3, last)
    listed = multipart.list_parts("mp/obj", upload_id)
    assert [(p.number, p.size) for p in listed] == [(1, size), (2, size), (3, 4)]
    assert [p.etag for p in listed] == [part1.etag, part2.etag, part3.etag]
    assert not store.exists("mp/obj")
    multipart.complete_multipart("mp/obj", upload_id, [part1, part2, part3])
    assert store.read("mp/obj") == first + second + last
    with pytest.raises(MultipartNotFound):
        multipart.list_parts("mp/obj", upload_id)


def test_multipart_abort_and_bad_parts(store: BlobStore) -> None:
    multipart = as_multipart(store)
    assert multipart is not None
    upload_id = multipart.create_multipart("mp/aborted")
    multipart.upload_part("mp/aborted", upload_id, 1, b"x" * multipart.min_part_size)
    with pytest.raises(InvalidMultipart):
        multipart.complete_multipart("mp/aborted", upload_id, [])
    with pytest.raises(InvalidMultipart):
        multipart.complete_multipart("mp/aborted", upload_id, [Part(1, "0" * 32, multipart.min_part_size)])
    with pytest.raises(InvalidMultipart):
        multipart.complete_multipart("mp/aborted", upload_id, [Part(7, "0" * 32, 1)])
    multipart.abort_multipart("mp/aborted", upload_id)
    multipart.abort_multipart("mp/aborted", upload_id)
    with pytest.raises(MultipartNotFound):
        multipart.list_parts("mp/aborted", upload_id)
    assert not store.exists("mp/aborted")


def test_append_capability(store: BlobStore, backend: str) -> None:
    appender = as_appendable(store)
    if backend == "s3":
        assert appender is None and not supports(store, AppendCapable)
        return
    assert appender is not None
    assert appender.append("logs/a", b"hello ", expected_offset=0) == 6
    assert appender.append("logs/a", io.BytesIO(b"world"), expected_offset=6) == 11
    assert appender.size("logs/a") == 11
    with pytest.raises(OffsetMismatch) as caught:
        appender.append("logs/a", b"!", expected_offset=5)
    assert (caught.value.expected, caught.value.actual, caught.value.status) == (5, 11, 409)
    with pytest.raises(OffsetMismatch):
        appender.append("logs/a", b"!", expected_offset=0)
    with pytest.raises(BlobNotFound):
        appender.append("logs/missing", b"!", expected_offset=3)
    assert store.read("logs/a") == b"hello world"


def test_signed_url(store: BlobStore, backend: str) -> None:
    store.put("media/clip.txt", b"signed body")
    base = "https://cdn.example.com" if backend == "local" else None
    url = store.signed_url("media/clip.txt", 60, public_base=base)
    if backend == "s3":
        assert httpx.get(url).content == b"signed body"
        tampered = url.replace("media/clip.txt", "media/other.txt")
        assert httpx.get(tampered).status_code == 403
        public = store.signed_url("media/clip.txt", 60, public_base="http://media.example.test:8333")
        parts = urlsplit(public)
        assert parts.netloc == "media.example.test:8333"
        # a gateway forwarding the public Host header to the endpoint gets the blob
        assert isinstance(store, S3Store) and store.endpoint_url
        direct = f"{store.endpoint_url}{parts.path}?{parts.query}"
        reply = httpx.get(direct, headers={"Host": "media.example.test:8333"})
        assert (reply.status_code, reply.content) == (200, b"signed body")
    else:
        assert url.startswith("https://cdn.example.com/blobs/media/clip.txt?expires=")
    with pytest.raises(ValueError):
        store.signed_url("media/clip.txt", 0)
