"""The resumable upload contract, over local append, local multipart and S3 multipart."""

from __future__ import annotations

import functools
import hashlib
import io
import itertools
import json
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import (
    BlobStore,
    InvalidUpload,
    LocalStore,
    OffsetMismatch,
    S3Store,
    UploadExists,
    UploadExpired,
    UploadForbidden,
    UploadIncomplete,
    UploadNotFound,
    as_multipart,
    open_store,
)
from storage.uploads import (
    AppendUploadStore,
    Concater,
    LengthDeferrer,
    MultipartUploadStore,
    RecordedUploadStore,
    Terminater,
    upload_store_for,
)
from storage.uploads.info import UploadRecord

SECRET = b"uploads-test-secret"
LATER = datetime.now(UTC) + timedelta(days=1)
MIB = 1024 * 1024


@dataclass
class Env:
    """A blob store and a way to build a new upload store on it (a restarted process)."""

    name: str
    blobs: BlobStore
    make: Callable[[], RecordedUploadStore]
    part_size: int

    @property
    def uploads(self) -> RecordedUploadStore:
        return self.make()


@pytest.fixture(params=["local", "local-multipart", "s3"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    name: str = request.param
    if name == "s3":
        url: str = request.getfixturevalue("s3_bucket_url")
        blobs: BlobStore = open_store(url, secret=SECRET)
        yield Env(name, blobs, lambda: upload_store_for(open_store(url, secret=SECRET)), 5 * MIB)
    elif name == "local":
        blobs = LocalStore(tmp_path / "blobs", SECRET)
        yield Env(name, blobs, lambda: upload_store_for(LocalStore(tmp_path / "blobs", SECRET)), 0)
    else:
        blobs = LocalStore(tmp_path / "blobs", SECRET)
        yield Env(
            name,
            blobs,
            lambda: MultipartUploadStore(LocalStore(tmp_path / "blobs", SECRET), part_size=1000),
            1000,
        )


class GeneratedStream(io.RawIOBase):
    """``size`` pseudo-random bytes produced on demand in 64 KiB blocks, never all in memory."""

    BLOCK = 64 * 1024

    def __init__(self, size: int) -> None:
        self.size = size
        self.position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, target: memoryview) -> int:  # type: ignore[override]
        index, skip = divmod(self.position, self.BLOCK)
        want = min(len(target), self.size - self.position, self.BLOCK - skip)
        block = hashlib.shake_128(index.to_bytes(8, "big")).digest(self.BLOCK)
        target[:want] = block[skip : skip + want]
        self.position += want
        return want


def payload(size: int, seed: int = 0) -> bytes:
    blocks = (hashlib.sha256(f"{seed}:{i}".encode()).digest() for i in itertools.count())
    return b"".join(itertools.islice(blocks, size // 32 + 1))[:size]


def sizes_for(env: Env) -> list[int]:
    """Upload sizes that cross the part boundaries of the backend."""
    if env.part_size == 0:
        return [0, 1, 4097]
    part = env.part_size
    return [0, 1, part - 1, part, part + 1, 2 * part + 7]


def test_store_kind_follows_capabilities(env: Env) -> None:
    expected = AppendUploadStore if env.name == "local" else MultipartUploadStore
    uploads = env.uploads
    assert isinstance(uploads, expected)
    assert isinstance(uploads, Terminater) and isinstance(uploads, Concater)
    assert isinstance(uploads, LengthDeferrer)


def test_create_and_info(env: Env) -> None:
    metadata = {"filename": "clip ü.mp4", "title": "Ünïcode title"}
    info = env.uploads.create("up1", 10, metadata, expires_at=LATER)
    assert (info.id, info.offset, info.length, info.metadata) == ("up1", 0, 10, metadata)
    assert (info.is_partial, info.is_final, info.parts, info.finished) == (False, False, (), False)
    again = env.uploads.info("up1")
    assert again == info and again.expires_at == LATER
    with pytest.raises(UploadExists) as caught:
        env.uploads.create("up1", 10, {}, expires_at=None)
    assert caught.value.status == 409
    with pytest.raises(UploadNotFound) as missing:
        env.uploads.info("nope")
    assert missing.value.status == 404 and missing.value.code == "UPLOAD_NOT_FOUND"


@pytest.mark.parametrize("bad_id", ["", "a/b", "a.b", "../x", "x" * 201, "sp ace"])
def test_bad_ids_refused(env: Env, bad_id: str) -> None:
    with pytest.raises(InvalidUpload):
        env.uploads.create(bad_id, 1, {}, expires_at=None)
    with pytest.raises(InvalidUpload):
        env.uploads.info(bad_id)


def test_round_trip_sizes(env: Env) -> None:
    for index, size in enumerate(sizes_for(env)):
        data, uid = payload(size, index), f"size-{index}"
        env.uploads.create(uid, size, {}, expires_at=LATER)
        assert env.uploads.write(uid, 0, io.BytesIO(data), max_bytes=size) == size
        assert env.uploads.info(uid).is_complete
        key = env.uploads.finish(uid)
        assert key == f"uploads/{uid}"
        assert env.blobs.read(key) == data
        assert env.uploads.finish(uid) == key
        info = env.uploads.info(uid)
        assert info.finished and info.offset == size
        with pytest.raises(UploadForbidden):
            env.uploads.write(uid, size, io.BytesIO(b"x"), max_bytes=1)
    leftovers = [b.key for b in env.blobs.list("uploads/") if ".tail." in b.key]
    assert leftovers == []


def test_chunk_boundaries_and_resume(env: Env) -> None:
    """Random cut points, a new store object before each write: bytes reassemble identically."""
    counter = itertools.count()
    small = env.name != "s3"
    total_sizes = st.integers(0, 5000) if small else st.sampled_from([5 * MIB + 1, 11 * MIB + 17])

    @settings(
        max_examples=40 if small else 3,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(size=total_sizes, cuts=st.lists(st.floats(0, 1), max_size=6), seed=st.integers(0, 1000))
    def check(size: int, cuts: list[float], seed: int) -> None:
        data, uid = payload(size, seed), f"hyp-{next(counter)}"
        env.uploads.create(uid, size, {}, expires_at=LATER)
        offset = 0
        for cut in sorted({int(size * c) for c in cuts} | {size}):
            uploads = env.make()
            assert uploads.info(uid).offset == offset
            offset = uploads.write(uid, offset, io.BytesIO(data[offset:]), max_bytes=cut - offset)
            assert offset == cut
        key = env.make().finish(uid)
        assert hashlib.sha256(env.blobs.read(key)).digest() == hashlib.sha256(data).digest()

    check()


def test_interrupted_stream_keeps_received_bytes(env: Env) -> None:
    received = 2 * env.part_size + 3 if env.part_size else 3000
    data = payload(received + 100)

    class Dropped(io.BytesIO):
        """Sends ``received`` bytes, then fails like a dropped connection."""

        def read(self, size: int | None = -1, /) -> bytes:
            if self.tell() >= received:
                raise ConnectionResetError("client went away")
            return super().read(min(size if size and size > 0 else received, received - self.tell()))

    env.uploads.create("drop", len(data), {}, expires_at=LATER)
    with pytest.raises(ConnectionResetError):
        env.uploads.write("drop", 0, Dropped(data), max_bytes=len(data))
    resumed = env.make()
    assert resumed.info("drop").offset == received
    assert resumed.write("drop", received, io.BytesIO(data[received:]), max_bytes=100) == len(data)
    assert env.blobs.read(resumed.finish("drop")) == data


def test_wrong_offset_refused(env: Env) -> None:
    env.uploads.create("off", 10, {}, expires_at=LATER)
    env.uploads.write("off", 0, io.BytesIO(b"abcd"), max_bytes=4)
    for wrong in (0, 3, 5):
        with pytest.raises(OffsetMismatch) as caught:
            env.uploads.write("off", wrong, io.BytesIO(b"xx"), max_bytes=2)
        assert (caught.value.actual, caught.value.status, caught.value.code) == (4, 409, "MISMATCHED_OFFSET")
    assert env.uploads.info("off").offset == 4


def test_writes_stop_at_length_and_max_bytes(env: Env) -> None:
    env.uploads.create("lim", 10, {}, expires_at=LATER)
    assert env.uploads.write("lim", 0, io.BytesIO(b"0123456789"), max_bytes=3) == 3
    assert env.uploads.write("lim", 3, io.BytesIO(b"3456789abcdef"), max_bytes=100) == 10
    assert env.uploads.write("lim", 10, io.BytesIO(b"more"), max_bytes=4) == 10
    with pytest.raises(ValueError):
        env.uploads.write("lim", 10, io.BytesIO(b""), max_bytes=-1)
    assert env.blobs.read(env.uploads.finish("lim")) == b"0123456789"


def test_finish_incomplete_refused(env: Env) -> None:
    env.uploads.create("inc", 10, {}, expires_at=LATER)
    env.uploads.write("inc", 0, io.BytesIO(b"abc"), max_bytes=3)
    with pytest.raises(UploadIncomplete) as caught:
        env.uploads.finish("inc")
    assert caught.value.status == 409
    with pytest.raises(UploadIncomplete):
        env.uploads.forget("inc")


def test_deferred_length(env: Env) -> None:
    env.uploads.create("def", None, {}, expires_at=LATER)
    assert env.uploads.write("def", 0, io.BytesIO(b"hello"), max_bytes=5) == 5
    with pytest.raises(UploadIncomplete):
        env.uploads.finish("def")
    with pytest.raises(InvalidUpload):
        env.uploads.declare_length("def", 4)
    info = env.uploads.declare_length("def", 8)
    assert (info.length, info.offset) == (8, 5)
    with pytest.raises(InvalidUpload):
        env.uploads.declare_length("def", 9)
    assert env.uploads.write("def", 5, io.BytesIO(b"!!!extra"), max_bytes=8) == 8
    assert env.blobs.read(env.uploads.finish("def")) == b"hello!!!"


def test_terminate_removes_everything(env: Env) -> None:
    size = env.part_size + 5 if env.part_size else 50
    env.uploads.create("term", size * 2, {}, expires_at=LATER)
    env.uploads.write("term", 0, io.BytesIO(payload(size)), max_bytes=size)
    env.uploads.create("keep", 1, {}, expires_at=LATER)
    env.uploads.terminate("term")
    with pytest.raises(UploadNotFound):
        env.uploads.info("term")
    with pytest.raises(UploadNotFound):
        env.uploads.terminate("term")
    assert [b.key for b in env.blobs.list("uploads/")] in (
        ["uploads/keep", "uploads/keep.info"],
        ["uploads/keep.info"],
    )
    if isinstance(env.blobs, S3Store):
        pending = env.blobs._client.list_multipart_uploads(Bucket=env.blobs.bucket).get("Uploads", [])
        assert [u["Key"] for u in pending] == ["uploads/keep"]


def test_forget_keeps_the_blob(env: Env) -> None:
    env.uploads.create("fgt", 3, {}, expires_at=LATER)
    env.uploads.write("fgt", 0, io.BytesIO(b"abc"), max_bytes=3)
    key = env.uploads.finish("fgt")
    env.uploads.forget("fgt")
    with pytest.raises(UploadNotFound):
        env.uploads.info("fgt")
    assert env.blobs.read(key) == b"abc"


def test_concatenate(env: Env) -> None:
    sizes = [env.part_size + 3, 7, 0] if env.part_size else [300, 7, 0]
    pieces = [payload(size, i) for i, size in enumerate(sizes)]
    for index, piece in enumerate(pieces):
        env.uploads.create(f"part{index}", len(piece), {}, expires_at=LATER, is_partial=True)
        env.uploads.write(f"part{index}", 0, io.BytesIO(piece), max_bytes=len(piece))
    info = env.make().concatenate("final", ["part0", "part1", "part2"], metadata={"filename": "a.mp4"})
    assert (info.is_final, info.parts, info.finished) == (True, ("part0", "part1", "part2"), True)
    assert info.offset == info.length == sum(sizes) and info.metadata == {"filename": "a.mp4"}
    assert env.blobs.read(env.uploads.finish("final")) == b"".join(pieces)
    assert env.uploads.info("part1").is_partial
    with pytest.raises(UploadForbidden):
        env.uploads.write("final", info.offset, io.BytesIO(b"x"), max_bytes=1)


def test_concatenate_refuses_bad_partials(env: Env) -> None:
    env.uploads.create("whole", 1, {}, expires_at=LATER)
    env.uploads.write("whole", 0, io.BytesIO(b"x"), max_bytes=1)
    env.uploads.create("half", 4, {}, expires_at=LATER, is_partial=True)
    env.uploads.write("half", 0, io.BytesIO(b"ab"), max_bytes=2)
    with pytest.raises(InvalidUpload):
        env.uploads.concatenate("f1", ["whole"])
    with pytest.raises(UploadIncomplete):
        env.uploads.concatenate("f2", ["half"])
    with pytest.raises(UploadNotFound):
        env.uploads.concatenate("f3", ["ghost"])
    with pytest.raises(InvalidUpload):
        env.uploads.concatenate("f4", [])
    for final in ("f1", "f2", "f3", "f4"):
        with pytest.raises(UploadNotFound):
            env.uploads.info(final)


def test_expiry(env: Env) -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    clock_now = [now]
    uploads = env.uploads
    uploads.clock = lambda: clock_now[0]
    uploads.create("old", 2, {}, expires_at=now - timedelta(seconds=1))
    uploads.create("edge", 2, {}, expires_at=now)
    uploads.create("young", 2, {}, expires_at=now + timedelta(hours=1))
    uploads.create("forever", 2, {}, expires_at=None)
    uploads.create("done", 1, {}, expires_at=now + timedelta(seconds=5))
    uploads.write("done", 0, io.BytesIO(b"x"), max_bytes=1)
    uploads.finish("done")
    assert uploads.expired(now) == ["edge", "old"]
    assert uploads.expired(now + timedelta(days=1)) == ["edge", "old", "young"]
    assert uploads.expired(now - timedelta(days=1)) == []
    with pytest.raises(UploadExpired) as caught:
        uploads.write("old", 0, io.BytesIO(b"ab"), max_bytes=2)
    assert caught.value.status == 410
    assert uploads.write("young", 0, io.BytesIO(b"ab"), max_bytes=2) == 2
    with pytest.raises(ValueError):
        uploads.create("naive", 1, {}, expires_at=datetime(2030, 1, 1))


def test_write_memory_is_bounded(env: Env) -> None:
    """A body several parts long goes through in memory of about one part plus one chunk."""
    size = 32 * MIB
    uploads = env.uploads
    if isinstance(uploads, MultipartUploadStore) and uploads.part_size < MIB:
        uploads = MultipartUploadStore(env.blobs, part_size=MIB)
    uploads.create("mem", size, {}, expires_at=LATER)
    source = io.BufferedReader(GeneratedStream(size))
    tracemalloc.start()
    try:
        assert uploads.write("mem", 0, source, max_bytes=size) == size
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 18 * MIB, f"write used {peak} bytes of Python memory for a {size} byte body"
    digest = hashlib.sha256()
    for chunk in env.blobs.open(uploads.finish("mem")):
        digest.update(chunk)
    expected = hashlib.sha256()
    for chunk in iter(functools.partial(GeneratedStream(size).read, MIB), b""):
        expected.update(chunk)
    assert digest.digest() == expected.digest()


def test_lost_data_reads_as_not_found(env: Env) -> None:
    """Data removed behind the store's back (a lifecycle rule, an operator) is an unknown upload."""
    env.uploads.create("lost", 5, {}, expires_at=LATER)
    env.uploads.write("lost", 0, io.BytesIO(b"abc"), max_bytes=3)
    multipart_id = json.loads(env.blobs.read("uploads/lost.info"))["multipart_id"]
    multipart = as_multipart(env.blobs)
    if env.name == "local":
        env.blobs.delete("uploads/lost")
    else:
        assert multipart is not None
        multipart.abort_multipart("uploads/lost", multipart_id)
    with pytest.raises(UploadNotFound):
        env.uploads.info("lost")
    with pytest.raises(UploadNotFound):
        env.uploads.write("lost", 3, io.BytesIO(b"de"), max_bytes=2)
    env.uploads.terminate("lost")
    assert list(env.blobs.list("uploads/lost")) == []


def test_crash_inside_finish_is_recovered(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process dying after assembling the blob but before recording it: finish() again works."""
    for index, size in enumerate([3, env.part_size + 2 if env.part_size else 2000]):
        uid, data = f"crash{index}", payload(size, index)
        env.uploads.create(uid, size, {}, expires_at=LATER)
        env.uploads.write(uid, 0, io.BytesIO(data), max_bytes=size)
        dying = env.make()
        save = dying._save

        def crash_when_finished(record: UploadRecord, save: Callable[[UploadRecord], None] = save) -> None:
            if record.finished:
                raise RuntimeError("power cut")
            save(record)

        monkeypatch.setattr(dying, "_save", crash_when_finished)
        with pytest.raises(RuntimeError):
            dying.finish(uid)
        restarted = env.make()
        info = restarted.info(uid)
        assert (info.offset, info.finished) == (size, False)
        assert env.blobs.read(restarted.finish(uid)) == data
        assert restarted.info(uid).finished
