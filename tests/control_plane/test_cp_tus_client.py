"""Uploads with tuspy, the real tus client, over real HTTP: local disk and S3, resumes, chunking."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.platform import Platform, embedded, live_server, production, start_platform
from tusclient import client as tus


@pytest.fixture(params=["local", "s3"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Platform, str]]:
    if request.param == "local":
        settings = embedded(tmp_path)
    else:
        settings = production(
            tmp_path,
            database_url=request.getfixturevalue("postgres_url"),
            broker_url="",
            storage_url=request.getfixturevalue("s3_bucket_url"),
            redis_url=request.getfixturevalue("redis_url"),
        )
    gen = start_platform(settings)
    platform = next(gen)
    with live_server(platform) as base:
        yield platform, base
    for _ in gen:
        pass


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tus_client(base: str, headers: dict[str, str]) -> tus.TusClient:
    return tus.TusClient(f"{base}/api/v1/uploads/", headers=headers)


def source_of(platform: Platform, headers: dict[str, str], video_id: str) -> bytes:
    r = platform.client.get(f"/api/v1/videos/{video_id}/source", headers=headers)
    assert r.status_code == 200, r.text
    return r.content


@pytest.mark.parametrize("chunk_size", [256 * 1024, 5 * 1024 * 1024 + 7])
def test_tuspy_uploads_byte_identical(served: tuple[Platform, str], tmp_path: Path, chunk_size: int) -> None:
    platform, base = served
    headers = platform.user("creator")
    data = os.urandom(7 * 1024 * 1024 + 123)
    path = tmp_path / "clip.mp4"
    path.write_bytes(data)
    uploader = tus_client(base, headers).uploader(
        str(path), chunk_size=chunk_size, metadata={"filename": "../../etc/clip.mp4", "title": "My clip"}
    )
    uploader.upload()
    video_id = uploader.url.rstrip("/").rsplit("/", 1)[-1]
    assert uploader.url.endswith(f"/api/v1/uploads/{video_id}")
    assert sha(source_of(platform, headers, video_id)) == sha(data)
    video = platform.client.get(f"/api/v1/videos/{video_id}", headers=headers).json()
    assert video["title"] == "My clip" and video["status"] in ("processing", "failed")
    with platform.services.db.session() as session:
        from control_plane.videos.models import Video

        row = session.get(Video, video_id)
        assert row is not None and row.filename == "clip.mp4" and row.size == len(data)


def test_resume_after_client_disconnect(served: tuple[Platform, str], tmp_path: Path) -> None:
    platform, base = served
    headers = platform.user("creator")
    data = os.urandom(3 * 1024 * 1024)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    first = tus_client(base, headers).uploader(
        str(path), chunk_size=1024 * 1024, metadata={"filename": "big.bin"}
    )
    first.upload_chunk()
    first.upload_chunk()
    video_id = first.url.rsplit("/", 1)[-1]
    progress = platform.client.get(f"/api/v1/videos/{video_id}", headers=headers).json()
    assert progress["status"] == "uploading" and progress["progress"] == pytest.approx(2 / 3, abs=0.01)
    # A brand-new client resumes from the server's durable offset.
    second = tus_client(base, headers).uploader(str(path), url=first.url, chunk_size=1024 * 1024)
    assert second.get_offset() == 2 * 1024 * 1024
    second.upload()
    assert sha(source_of(platform, headers, video_id)) == sha(data)


def test_broken_connection_mid_body_keeps_what_arrived(served: tuple[Platform, str]) -> None:
    platform, base = served
    headers = {**platform.user("creator"), "Tus-Resumable": "1.0.0"}
    data = os.urandom(2 * 1024 * 1024)
    r = httpx.post(f"{base}/api/v1/uploads/", headers={**headers, "Upload-Length": str(len(data))})
    url = base + r.headers["location"]

    def half_then_fail() -> Iterator[bytes]:
        yield data[: 1024 * 1024]
        raise ConnectionResetError("client went away")

    with pytest.raises((httpx.HTTPError, ConnectionResetError)):
        httpx.patch(
            url,
            headers={
                **headers,
                "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
                "Content-Length": str(len(data)),
            },
            content=half_then_fail(),
        )
    offset = int(httpx.head(url, headers=headers).headers["upload-offset"])
    assert 0 <= offset <= 1024 * 1024
    r = httpx.patch(
        url,
        headers={**headers, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"},
        content=data[offset:],
    )
    assert r.status_code == 204 and r.headers["upload-offset"] == str(len(data))
    assert sha(source_of(platform, headers, url.rsplit("/", 1)[-1])) == sha(data)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(min_value=1, max_value=300_000 - 1), max_size=6, unique=True))
def test_any_chunk_boundaries_reassemble(tmp_path_factory: pytest.TempPathFactory, cuts: list[int]) -> None:
    gen = start_platform(embedded(tmp_path_factory.mktemp("hyp")))
    platform = next(gen)
    try:
        headers = {**platform.user("creator"), "Tus-Resumable": "1.0.0"}
        data = os.urandom(300_000)
        r = platform.client.post("/api/v1/uploads/", headers={**headers, "Upload-Length": str(len(data))})
        loc = r.headers["location"]
        bounds = [0, *sorted(cuts), len(data)]
        for start, end in zip(bounds, bounds[1:], strict=False):
            r = platform.client.patch(
                loc,
                headers={
                    **headers,
                    "Upload-Offset": str(start),
                    "Content-Type": "application/offset+octet-stream",
                },
                content=data[start:end],
            )
            assert r.status_code == 204 and r.headers["upload-offset"] == str(end)
        assert sha(source_of(platform, headers, loc.rsplit("/", 1)[-1])) == sha(data)
    finally:
        for _ in gen:
            pass


def test_concurrent_uploads(served: tuple[Platform, str], tmp_path: Path) -> None:
    import concurrent.futures

    platform, base = served
    headers = platform.user("creator")
    blobs = [os.urandom(1024 * 1024 + i) for i in range(4)]

    def upload(i: int) -> tuple[str, bytes]:
        path = tmp_path / f"f{i}.bin"
        path.write_bytes(blobs[i])
        uploader = tus_client(base, headers).uploader(
            str(path), chunk_size=256 * 1024, metadata={"filename": path.name}
        )
        uploader.upload()
        return uploader.url.rsplit("/", 1)[-1], blobs[i]

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(upload, range(4)))
    for video_id, data in results:
        assert sha(source_of(platform, headers, video_id)) == sha(data)
