"""Channels: public profiles and their edits, counts that add up under concurrency, avatars
re-encoded without metadata (decompression bombs refused before decoding), and closing an
account, after which the store holds nothing of it."""

from __future__ import annotations

import io
import struct
import subprocess
import threading
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path

import httpx
import imageio_ffmpeg
import pytest
import sqlalchemy as sa
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from support.platform import Platform
from support.social import member
from support.social import ready_video as video_row
from support.videos import ready_video

from control_plane.core.db import Base, utcnow
from control_plane.live import StreamService
from control_plane.videos.models import Video

PASSWORD = "correct horse battery"


def test_profiles_answer_anyone_and_edits_are_bounded(platform_on: Callable[..., Platform]) -> None:
    platform = platform_on()
    client = platform.client
    alice = platform.user("alice")
    r = client.get("/api/v1/users/alice")
    assert r.status_code == 200, r.text
    profile = r.json()
    assert profile["display_name"] == "alice" and profile["bio"] == ""
    assert profile["avatar"] is None and profile["avatars"] == {}
    assert [profile[k] for k in ("followers", "following", "videos", "posts")] == [0, 0, 0, 0]
    assert profile["is_following"] is None and profile["is_blocked"] is None
    r = client.get("/api/v1/users/nobody")
    assert r.status_code == 404 and r.json()["code"] == "CHANNEL_NOT_FOUND"

    name, bio = "Alice 👩\u200d🎤 Liddell", "<i>not rendered</i>\n<script>x()</script>"
    r = client.patch("/api/v1/users/me", headers=alice, json={"display_name": f"  {name} ", "bio": bio})
    assert r.status_code == 200, r.text
    seen = client.get("/api/v1/users/alice").json()
    assert (seen["display_name"], seen["bio"]) == (name, bio)

    for body, status in (
        ({"display_name": "x" * 51}, 422),
        ({"bio": "x" * 1001}, 422),
        ({"display_name": "\u202eevil"}, 422),
        ({"display_name": "   "}, 422),
        ({"display_name": "tab\there"}, 422),
    ):
        r = client.patch("/api/v1/users/me", headers=alice, json=body)
        assert r.status_code == status, (body, r.text)
    assert client.patch("/api/v1/users/me", json={"bio": "anonymous"}).status_code == 401
    assert client.get("/api/v1/users/alice").json()["bio"] == bio  # nothing refused was kept
    cleared = client.patch("/api/v1/users/me", headers=alice, json={"display_name": None}).json()
    assert cleared["display_name"] == "alice" and cleared["bio"] == bio


def test_a_profile_answers_to_any_case_and_tells_the_caller_where_they_stand(both: Platform) -> None:
    ada, bob = member(both, "Ada"), member(both, "bob")
    client = both.client
    assert client.put("/api/v1/users/ADA/follow", headers=bob.headers).status_code == 204
    profiles = [client.get(f"/api/v1/users/{name}", headers=bob.headers) for name in ("Ada", "ada", "ADA")]
    assert all(r.status_code == 200 for r in profiles), [r.text for r in profiles]
    assert profiles[0].json() == profiles[1].json() == profiles[2].json()
    seen = profiles[1].json()
    assert (seen["id"], seen["username"], seen["followers"]) == (ada.id, "Ada", 1)
    assert (seen["is_following"], seen["is_blocked"]) == (True, False)
    assert client.get("/api/v1/users/bob").json()["following"] == 1
    anonymous = client.get("/api/v1/users/ada").json()
    assert (anonymous["is_following"], anonymous["is_blocked"]) == (None, None)
    assert client.put("/api/v1/users/ada/block", headers=bob.headers).status_code == 204
    seen = client.get("/api/v1/users/aDa", headers=bob.headers).json()
    assert (seen["is_following"], seen["is_blocked"], seen["followers"]) == (False, True, 0)
    video = video_row(both, ada, title="Any case")
    with both.services.db.session() as session:
        session.execute(sa.update(Video).where(Video.id == video).values(published_at=utcnow()))
    for name in ("ada", "ADA"):
        listed = client.get("/api/v1/videos", params={"channel": name}).json()["items"]
        assert [v["id"] for v in listed] == [video]
    for who, shown in ((bob, []), (ada, [video])):  # a block hides each from the other
        listed = client.get("/api/v1/videos", headers=who.headers).json()["items"]
        assert [v["id"] for v in listed] == shown


def test_channel_counts_add_up_under_concurrent_writers(platform_on: Callable[..., Platform]) -> None:
    platform = platform_on()
    platform.user("alice")
    user_id = platform.client.get("/api/v1/users/alice").json()["id"]
    channels, db = platform.services.channels, platform.services.db
    start = threading.Barrier(12)

    def follow_and_post() -> None:
        start.wait()
        with db.session() as session:
            channels.add_counts(session, user_id, followers=1, posts=2)

    threads = [threading.Thread(target=follow_and_post) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with db.session() as session:
        channels.add_counts(session, user_id, posts=-4, following=0)
    profile = platform.client.get("/api/v1/users/alice").json()
    assert (profile["followers"], profile["posts"], profile["following"]) == (12, 20, 0)
    with pytest.raises(ValueError), db.session() as session:
        channels.add_counts(session, user_id, likes=1)


def photo_with_exif() -> bytes:
    """A 1200×800 JPEG, red on the left and blue on the right, whose EXIF says to turn it 90°
    clockwise and names a camera and a GPS position."""
    image = Image.new("RGB", (1200, 800), "red")
    image.paste((0, 0, 255), (600, 0, 1200, 800))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    exif.get_ifd(0x8825).update({1: "N", 2: (51.0, 30.0, 12.5), 3: "W", 4: (0.0, 7.0, 39.9)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), comment=b"SecretComment")
    return out.getvalue()


def png_bomb(side: int) -> bytes:
    """A real PNG that declares ``side``×``side`` 1-bit pixels of zeros, compressed to almost
    nothing: built row by row, so the picture itself never exists in memory."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\0" * (1 + (side + 7) // 8)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def put_avatar(
    platform: Platform, headers: dict[str, str], data: bytes, kind: str = "image/jpeg"
) -> httpx.Response:
    return platform.client.put(
        "/api/v1/users/me/avatar", headers={**headers, "Content-Type": kind}, content=data
    )


def fetch(platform: Platform, url: str) -> bytes:
    r = platform.client.get(url.removeprefix(platform.services.settings.effective_public_url))
    assert r.status_code == 200 and r.headers["content-type"] == "image/webp", r.text
    assert "immutable" in r.headers["cache-control"]
    return r.content


def test_an_avatar_is_decoded_and_reencoded_without_its_metadata(platform: Platform) -> None:
    alice = platform.user("alice")
    user_id = platform.client.get("/api/v1/users/alice").json()["id"]
    r = put_avatar(platform, alice, photo_with_exif())
    assert r.status_code == 200, r.text
    first = r.json()
    assert set(first["avatars"]) == {"48", "128", "400"} and first["avatar"] == first["avatars"]["400"]
    for size, url in first["avatars"].items():
        data = fetch(platform, url)
        assert b"SecretCam" not in data and b"SecretComment" not in data and b"Exif" not in data
        picture = Image.open(io.BytesIO(data))
        assert picture.format == "WEBP" and picture.size == (int(size), int(size))
        assert not picture.getexif() and not {"exif", "xmp", "icc_profile", "comment"} & set(picture.info)
    square = Image.open(io.BytesIO(fetch(platform, first["avatar"]))).convert("RGB")
    top, bottom = square.getpixel((200, 10)), square.getpixel((200, 390))
    assert top[0] > 200 and top[2] < 60 and bottom[2] > 200 and bottom[0] < 60  # turned as EXIF said

    transparent = Image.new("RGBA", (300, 200), (0, 255, 0, 0))
    out = io.BytesIO()
    transparent.save(out, "PNG", pnginfo=_text_chunk("Author", "SecretAuthor"))
    r = put_avatar(platform, alice, out.getvalue(), "image/png")
    assert r.status_code == 200, r.text
    second = r.json()["avatar"]
    data = fetch(platform, second)
    assert b"SecretAuthor" not in data and Image.open(io.BytesIO(data)).mode == "RGBA"
    stored = {info.key for info in platform.services.store.list(f"avatars/{user_id}/")}
    assert len(stored) == 3 and all(second.split("/")[-2] in key for key in stored)  # the old one is gone
    assert platform.client.get(first["avatar"].removeprefix("http://127.0.0.1:8000")).status_code == 404

    assert platform.client.delete("/api/v1/users/me/avatar", headers=alice).status_code == 204
    assert list(platform.services.store.list(f"avatars/{user_id}/")) == []
    assert platform.client.get("/api/v1/users/alice").json()["avatar"] is None


def _text_chunk(key: str, value: str) -> PngInfo:
    info = PngInfo()
    info.add_text(key, value)
    return info


def test_anything_but_a_whole_small_picture_is_refused(platform: Platform) -> None:
    alice = platform.user("alice")
    tiff = io.BytesIO()
    Image.new("RGB", (64, 64)).save(tiff, "TIFF")
    for data, kind in (
        (b"hello, I am text", "image/png"),
        (photo_with_exif()[:2000], "image/jpeg"),
        (tiff.getvalue(), "image/tiff"),
        (b"", "image/png"),
    ):
        r = put_avatar(platform, alice, data, kind)
        assert r.status_code == 415 and r.json()["code"] == "NOT_AN_IMAGE", (kind, r.text)

    bomb = png_bomb(40_000)  # 1.6 gigapixels in about 200 kB
    assert len(bomb) < 300_000
    tracemalloc.start()
    try:
        r = put_avatar(platform, alice, bomb, "image/png")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.status_code == 413 and r.json()["code"] == "IMAGE_TOO_LARGE", r.text
    assert peak < 32 * 1024 * 1024, f"{peak} bytes allocated: the bomb was decoded"
    r = put_avatar(platform, alice, png_bomb(7_000), "image/png")  # 49 Mpx: over the limit, under 2×
    assert r.status_code == 413 and r.json()["code"] == "IMAGE_TOO_LARGE", r.text
    r = put_avatar(platform, alice, b"\xff" * (9 * 1024 * 1024))
    assert r.status_code == 413
    assert put_avatar(platform, {}, photo_with_exif()).status_code == 401
    assert list(platform.services.store.list("avatars/")) == []

    user_id = platform.client.get("/api/v1/users/alice").json()["id"]
    assert platform.client.get(f"/media/avatars/{user_id}/{'0' * 16}/400.webp").status_code == 404
    assert platform.client.get(f"/media/avatars/{user_id}/{'0' * 16}/401.webp").status_code == 404
    assert platform.client.get(f"/media/avatars/{user_id}/..%2F..%2Fx/400.webp").status_code in (404, 422)


def owned_rows(platform: Platform, user_id: str) -> dict[str, int]:
    """Rows of any table that name ``user_id`` in a user or owner column."""
    found: dict[str, int] = {}
    with platform.services.db.session() as session:
        for table in Base.metadata.sorted_tables:
            for name in ("user_id", "owner_id", "id"):
                column = table.c.get(name)
                if column is None or (name == "id" and table.name != "users"):
                    continue
                count = session.scalar(sa.select(sa.func.count()).select_from(table).where(column == user_id))
                if count:
                    found[f"{table.name}.{name}"] = int(count)
    return found


@pytest.mark.slow
def test_closing_an_account_removes_everything_of_it(
    platform_on: Callable[..., Platform], tmp_path: Path
) -> None:
    platform = platform_on()
    client, store = platform.client, platform.services.store
    bob = platform.user("bob")
    assert put_avatar(platform, bob, photo_with_exif()).status_code == 200
    bob_stream = client.post("/api/v1/live/streams", headers=bob, json={"title": "bob live"}).json()["id"]
    store.put(f"live/{bob_stream}/hls/index.m3u8", b"#EXTM3U\n")
    before = {info.key for info in store.list("")}

    alice = platform.user("alice")
    alice_id = client.get("/api/v1/users/alice").json()["id"]
    assert put_avatar(platform, alice, photo_with_exif()).status_code == 200
    clip = tmp_path / "clip.mp4"
    source = [
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=160x120:rate=10:d=2",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
    ]
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", *source, str(clip)], check=True)
    video_id = ready_video(platform, alice, clip.read_bytes())
    client.patch(f"/api/v1/videos/{video_id}", headers=alice, json={"tags": ["mine"]})
    tus = {**alice, "Tus-Resumable": "1.0.0"}
    r = client.post("/api/v1/uploads/", headers={**tus, "Upload-Length": "1000000"})
    partial = r.headers["location"]
    r = client.patch(
        partial,
        content=b"\0" * 100_000,
        headers={**tus, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
    )
    assert r.status_code == 204, r.text
    stream_id = client.post("/api/v1/live/streams", headers=alice, json={"title": "live"}).json()["id"]
    store.put(f"live/{stream_id}/hls/index.m3u8", b"#EXTM3U\n")
    store.put(f"live/{stream_id}/recordings/{'f' * 32}.flv", b"FLV")
    assert client.get("/api/v1/users/alice").json()["videos"] == 1
    ours = {info.key for info in store.list("")} - before
    assert any(video_id in key for key in ours) and any(alice_id in key for key in ours)
    assert any(key.startswith(f"live/{stream_id}/") for key in ours)

    r = client.request("DELETE", "/api/v1/users/me", headers=alice, json={"password": "wrong password"})
    assert r.status_code == 401 and r.json()["code"] == "INVALID_CREDENTIALS"
    StreamService(platform.services.db).record_state(stream_id, "live")
    r = client.request("DELETE", "/api/v1/users/me", headers=alice, json={"password": PASSWORD})
    assert r.status_code == 409 and r.json()["code"] == "STREAM_LIVE"
    assert client.get("/api/v1/users/me", headers=alice).status_code == 200  # nothing changed
    assert {info.key for info in store.list("")} - before == ours
    StreamService(platform.services.db).record_state(stream_id, "idle")

    r = client.request("DELETE", "/api/v1/users/me", headers=alice, json={"password": PASSWORD})
    assert r.status_code == 204, r.text
    assert {info.key for info in store.list("")} == before
    assert owned_rows(platform, alice_id) == {"audit_events.user_id": 1}  # the one "account.deleted"
    assert client.get("/api/v1/users/me", headers=alice).status_code == 401
    assert client.get("/api/v1/users/alice").status_code == 404
    assert client.get(f"/api/v1/videos/{video_id}").status_code == 404
    r = client.post("/api/v1/auth/login", json={"username": "alice", "password": PASSWORD})
    assert r.status_code == 401
    assert client.get("/api/v1/users/bob").json()["avatar"] is not None  # bob keeps everything
    assert platform.user("alice")  # the name is free again
