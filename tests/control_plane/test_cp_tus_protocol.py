"""The tus 1.0.0 protocol, method by method, with the status codes it names."""

from __future__ import annotations

import base64
import hashlib
import os
from datetime import timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from support.platform import Platform, embedded, start_platform

from control_plane.core.db import utcnow
from control_plane.uploads.models import Upload
from control_plane.videos.models import Video

TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {"Content-Type": "application/offset+octet-stream"}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def auth(platform: Platform) -> dict[str, str]:
    return {**platform.user("creator"), **TUS}


def create(platform: Platform, auth: dict[str, str], length: int | None = 10, **headers: str):
    h = {**auth, **({"Upload-Length": str(length)} if length is not None else {}), **headers}
    return platform.client.post("/api/v1/uploads/", headers=h)


def patch(platform: Platform, auth: dict[str, str], loc: str, offset: int, body: bytes, **headers: str):
    return platform.client.patch(
        loc, headers={**auth, **OCTETS, "Upload-Offset": str(offset), **headers}, content=body
    )


def test_options_discovers_the_server_without_auth(platform: Platform) -> None:
    r = platform.client.options("/api/v1/uploads/")
    assert r.status_code == 204
    assert r.headers["tus-resumable"] == "1.0.0" and r.headers["tus-version"] == "1.0.0"
    assert set(r.headers["tus-extension"].split(",")) == {
        "creation",
        "creation-with-upload",
        "creation-defer-length",
        "termination",
        "checksum",
        "expiration",
        "concatenation",
    }
    assert set(r.headers["tus-checksum-algorithm"].split(",")) == {"sha1", "sha256", "md5"}
    assert int(r.headers["tus-max-size"]) == platform.services.settings.upload_max_bytes


def test_every_request_needs_auth_and_the_tus_version(platform: Platform, auth: dict[str, str]) -> None:
    r = platform.client.post("/api/v1/uploads/", headers={**TUS, "Upload-Length": "5"})
    assert r.status_code == 401 and r.headers["tus-resumable"] == "1.0.0"
    r = platform.client.post(
        "/api/v1/uploads/", headers={"Authorization": auth["Authorization"], "Upload-Length": "5"}
    )
    assert r.status_code == 412 and r.headers["tus-version"] == "1.0.0"
    r = platform.client.post(
        "/api/v1/uploads/", headers={**auth, "Tus-Resumable": "0.2.2", "Upload-Length": "5"}
    )
    assert r.status_code == 412


def test_create_head_patch_complete(platform: Platform, auth: dict[str, str]) -> None:
    r = create(platform, auth, 10, **{"Upload-Metadata": f"filename {b64('a.mp4')},title {b64('Hello')}"})
    assert r.status_code == 201
    loc = r.headers["location"]
    assert loc.startswith("/api/v1/uploads/") and len(loc.rsplit("/", 1)[1]) == 32
    expires = parsedate_to_datetime(r.headers["upload-expires"])
    assert timedelta(hours=23) < expires - utcnow() <= timedelta(hours=24)
    head = platform.client.head(loc, headers=auth)
    assert (
        head.status_code == 200
        and head.headers["upload-offset"] == "0"
        and head.headers["upload-length"] == "10"
    )
    assert head.headers["cache-control"] == "no-store"
    assert head.headers["upload-metadata"] == f"filename {b64('a.mp4')},title {b64('Hello')}"
    r = patch(platform, auth, loc, 0, b"01234")
    assert r.status_code == 204 and r.headers["upload-offset"] == "5" and "upload-expires" in r.headers
    r = patch(platform, auth, loc, 5, b"56789")
    assert r.status_code == 204 and r.headers["upload-offset"] == "10"
    video = platform.client.get(f"/api/v1/videos/{loc.rsplit('/', 1)[1]}", headers=auth).json()
    assert video["title"] == "Hello" and video["status"] in ("processing", "failed")
    assert platform.client.head(loc, headers=auth).headers["upload-offset"] == "10"


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 400, "LENGTH_REQUIRED"),
        ({"Upload-Length": "-1"}, 400, "INVALID_HEADER"),
        ({"Upload-Length": "abc"}, 400, "INVALID_HEADER"),
        ({"Upload-Length": "5", "Upload-Defer-Length": "1"}, 400, "INVALID_HEADER"),
        ({"Upload-Length": str(10**15)}, 413, "UPLOAD_TOO_LARGE"),
        ({"Upload-Length": "5", "Upload-Metadata": "filename not-base64!"}, 400, "INVALID_METADATA"),
        ({"Upload-Length": "5", "Upload-Metadata": "bad key x"}, 400, "INVALID_METADATA"),
        ({"Upload-Length": "5", "Upload-Concat": "sideways"}, 400, "INVALID_METADATA"),
    ],
)
def test_creation_refusals(
    platform: Platform, auth: dict[str, str], headers: dict[str, str], status: int, code: str
) -> None:
    r = platform.client.post("/api/v1/uploads/", headers={**auth, **headers})
    assert r.status_code == status and r.json()["code"] == code, r.text
    with platform.services.db.session() as session:
        assert session.query(Upload).count() == 0


@pytest.mark.parametrize(
    ("offset", "headers", "status", "code"),
    [
        (3, {}, 409, "MISMATCHED_OFFSET"),
        (0, {"Content-Type": "text/plain"}, 415, "UNSUPPORTED_MEDIA_TYPE"),
        (0, {"Upload-Checksum": "crc32 AAAA"}, 400, "CHECKSUM_ALGORITHM_UNSUPPORTED"),
        (
            0,
            {"Upload-Checksum": "sha1 " + base64.b64encode(hashlib.sha1(b"other").digest()).decode()},
            460,
            "CHECKSUM_MISMATCH",
        ),
    ],
)
def test_patch_refusals_write_nothing(
    platform: Platform, auth: dict[str, str], offset: int, headers: dict[str, str], status: int, code: str
) -> None:
    loc = create(platform, auth, 10).headers["location"]
    r = patch(platform, auth, loc, offset, b"01234", **headers)
    assert r.status_code == status and r.json()["code"] == code, r.text
    assert platform.client.head(loc, headers=auth).headers["upload-offset"] == "0"


def test_patch_beyond_length_and_missing_offset(platform: Platform, auth: dict[str, str]) -> None:
    loc = create(platform, auth, 4).headers["location"]
    assert patch(platform, auth, loc, 0, b"too long").status_code == 413
    r = platform.client.patch(loc, headers={**auth, **OCTETS}, content=b"ab")
    assert r.status_code == 400
    assert platform.client.head(loc, headers=auth).headers["upload-offset"] == "0"


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "md5"])
def test_checksums_accepted(platform: Platform, auth: dict[str, str], algorithm: str) -> None:
    loc = create(platform, auth, 5).headers["location"]
    digest = base64.b64encode(hashlib.new(algorithm, b"hello").digest()).decode()
    r = patch(platform, auth, loc, 0, b"hello", **{"Upload-Checksum": f"{algorithm} {digest}"})
    assert r.status_code == 204 and r.headers["upload-offset"] == "5"


def test_creation_with_upload(platform: Platform, auth: dict[str, str]) -> None:
    r = platform.client.post(
        "/api/v1/uploads/", headers={**auth, **OCTETS, "Upload-Length": "8"}, content=b"abcd"
    )
    assert r.status_code == 201 and r.headers["upload-offset"] == "4"
    assert patch(platform, auth, r.headers["location"], 4, b"efgh").headers["upload-offset"] == "8"


def test_defer_length(platform: Platform, auth: dict[str, str]) -> None:
    r = create(platform, auth, None, **{"Upload-Defer-Length": "1"})
    assert r.status_code == 201 and r.headers["upload-defer-length"] == "1"
    loc = r.headers["location"]
    assert patch(platform, auth, loc, 0, b"abc").headers["upload-offset"] == "3"
    head = platform.client.head(loc, headers=auth)
    assert head.headers["upload-defer-length"] == "1" and "upload-length" not in head.headers
    r = patch(platform, auth, loc, 3, b"def", **{"Upload-Length": "6"})
    assert r.status_code == 204 and r.headers["upload-offset"] == "6"
    head = platform.client.head(loc, headers=auth)
    assert head.headers["upload-length"] == "6"
    video_id = loc.rsplit("/", 1)[1]
    assert platform.client.get(f"/api/v1/videos/{video_id}/source", headers=auth).content == b"abcdef"


def test_termination(platform: Platform, auth: dict[str, str]) -> None:
    loc = create(platform, auth, 10).headers["location"]
    patch(platform, auth, loc, 0, b"012")
    assert platform.client.delete(loc, headers=auth).status_code == 204
    assert platform.client.head(loc, headers=auth).status_code == 404
    assert platform.client.get(f"/api/v1/videos/{loc.rsplit('/', 1)[1]}", headers=auth).status_code == 404
    assert list(platform.services.store.list("uploads/")) == []


def test_concatenation(platform: Platform, auth: dict[str, str]) -> None:
    parts = []
    for chunk in (b"hello ", b"tus ", b"world"):
        r = create(platform, auth, len(chunk), **{"Upload-Concat": "partial"})
        assert r.headers["upload-concat"] == "partial"
        patch(platform, auth, r.headers["location"], 0, chunk)
        parts.append(r.headers["location"])
    r = platform.client.post(
        "/api/v1/uploads/",
        headers={
            **auth,
            "Upload-Concat": "final;" + " ".join(["http://testserver" + parts[0], *parts[1:]]),
            "Upload-Metadata": f"filename {b64('joined.mp4')}",
        },
    )
    assert r.status_code == 201, r.text
    final = r.headers["location"]
    head = platform.client.head(final, headers=auth)
    assert head.headers["upload-offset"] == head.headers["upload-length"] == "15"
    assert patch(platform, auth, final, 15, b"x").status_code == 403
    video_id = final.rsplit("/", 1)[1]
    assert (
        platform.client.get(f"/api/v1/videos/{video_id}/source", headers=auth).content == b"hello tus world"
    )
    with platform.services.db.session() as session:
        assert session.query(Video).count() == 1  # partial uploads make no videos


def test_concatenation_refuses_incomplete_or_foreign_parts(platform: Platform, auth: dict[str, str]) -> None:
    part = create(platform, auth, 5, **{"Upload-Concat": "partial"}).headers["location"]
    r = platform.client.post("/api/v1/uploads/", headers={**auth, "Upload-Concat": f"final;{part}"})
    assert r.status_code == 400
    mallory = {**platform.user("mallory"), **TUS}
    patch(platform, auth, part, 0, b"12345")
    r = platform.client.post("/api/v1/uploads/", headers={**mallory, "Upload-Concat": f"final;{part}"})
    assert r.status_code == 404


def test_only_the_owner_touches_an_upload(platform: Platform, auth: dict[str, str]) -> None:
    loc = create(platform, auth, 10).headers["location"]
    other = {**platform.user("mallory"), **TUS}
    assert platform.client.head(loc, headers=other).status_code == 404
    assert patch(platform, other, loc, 0, b"evil").status_code == 404
    assert platform.client.delete(loc, headers=other).status_code == 404
    video_id = loc.rsplit("/", 1)[1]
    assert platform.client.get(f"/api/v1/videos/{video_id}", headers=other).status_code == 404
    assert platform.client.get(f"/api/v1/videos/{video_id}/source", headers=other).status_code == 404
    assert platform.client.head(loc, headers=auth).headers["upload-offset"] == "0"


def test_a_second_writer_is_refused_while_one_writes(
    platform: Platform, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import control_plane.uploads.service as service

    monkeypatch.setattr(service, "LOCK_WAIT", 0.2)
    loc = create(platform, auth, 10).headers["location"]
    upload_id = loc.rsplit("/", 1)[1]
    token = platform.services.kv.acquire_lock(
        f"upload:{upload_id}", 30
    )  # as a writer in another process would
    assert token is not None
    r = patch(platform, auth, loc, 0, b"01234")
    assert r.status_code == 423 and r.json()["code"] == "UPLOAD_LOCKED"
    platform.services.kv.release_lock(f"upload:{upload_id}", token)
    assert patch(platform, auth, loc, 0, b"01234").status_code == 204


def test_quota_and_concurrent_upload_cap(tmp_path: Path) -> None:
    gen = start_platform(embedded(tmp_path, upload_quota_bytes=100, upload_max_concurrent=2))
    platform = next(gen)
    try:
        auth = {**platform.user("creator"), **TUS}
        assert create(platform, auth, 60).status_code == 201
        r = create(platform, auth, 60)
        assert r.status_code == 413 and r.json()["code"] == "QUOTA_EXCEEDED"
        assert create(platform, auth, 10).status_code == 201
        r = create(platform, auth, 10)
        assert r.status_code == 429 and r.json()["code"] == "TOO_MANY_UPLOADS" and r.headers["retry-after"]
    finally:
        for _ in gen:
            pass


def test_expired_uploads_are_gone_and_swept(platform: Platform, auth: dict[str, str]) -> None:
    loc = create(platform, auth, 10).headers["location"]
    patch(platform, auth, loc, 0, b"0123")
    upload_id = loc.rsplit("/", 1)[1]
    with platform.services.db.session() as session:
        row = session.get(Upload, upload_id)
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)
    r = platform.client.head(loc, headers=auth)
    assert r.status_code == 410
    assert patch(platform, auth, loc, 4, b"45").json()["code"] == "UPLOAD_EXPIRED"
    assert platform.services.uploads.sweep(utcnow() + timedelta(days=2)) == 1
    assert platform.client.head(loc, headers=auth).status_code == 404
    assert not any(
        info.key.startswith(f"uploads/{upload_id}") for info in platform.services.store.list("uploads/")
    )


def test_sweep_job_runs_through_the_broker(platform: Platform, auth: dict[str, str]) -> None:
    from control_plane.jobs import enqueue

    job = enqueue(platform.services.db, platform.services.broker, "uploads.sweep")
    admin = platform.user("root", role="admin")
    done = platform.wait_job(job.id, admin)
    assert done["status"] == "succeeded" and done["result"] == {"removed": 0}


def test_empty_upload_completes_at_once(platform: Platform, auth: dict[str, str]) -> None:
    r = create(platform, auth, 0)
    video_id = r.headers["location"].rsplit("/", 1)[1]
    done = None
    for _ in range(200):
        done = platform.client.get(f"/api/v1/videos/{video_id}", headers=auth).json()
        if done["status"] == "failed":
            break
        import time

        time.sleep(0.05)
    assert done is not None and done["status"] == "failed" and done["error"] == "The file is empty."


def test_source_supports_ranges(platform: Platform, auth: dict[str, str]) -> None:
    data = os.urandom(1000)
    loc = create(platform, auth, len(data)).headers["location"]
    patch(platform, auth, loc, 0, data)
    url = f"/api/v1/videos/{loc.rsplit('/', 1)[1]}/source"
    r = platform.client.get(url, headers={**auth, "Range": "bytes=100-199"})
    assert (
        r.status_code == 206
        and r.content == data[100:200]
        and r.headers["content-range"] == "bytes 100-199/1000"
    )
    r = platform.client.get(url, headers={**auth, "Range": "bytes=-10"})
    assert r.status_code == 206 and r.content == data[-10:]
    r = platform.client.get(url, headers={**auth, "Range": "bytes=5000-"})
    assert r.status_code == 416 and r.headers["content-range"] == "bytes */1000"
