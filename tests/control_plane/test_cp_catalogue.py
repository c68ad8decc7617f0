"""The catalogue: video metadata, anonymous reads of public videos, the public lists by channel,
tag, category and popularity, the owner's list, and deleting a video with every blob and row of
it, Content-ID reference and index entries included. Real uploads and transcodes throughout."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import imageio_ffmpeg
import pytest
import sqlalchemy as sa
from support.platform import Platform
from support.videos import jobs_done, ready_video
from support.waiting import wait_until

from control_plane.contentid.models import Reference
from control_plane.uploads.models import Upload
from control_plane.videos.models import Video, VideoTag
from workers.reference_index import PREFIX as INDEX_PREFIX
from workers.reference_index import ReferenceIndex


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """Three seconds of a test pattern with a tone: enough for a transcode and a fingerprint."""
    path = tmp_path_factory.mktemp("clips") / "clip.mp4"
    video = ["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=15:d=3"]
    audio = ["-f", "lavfi", "-i", "sine=frequency=660:d=3"]
    encode = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"]
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", *video, *audio, *encode, str(path)], check=True
    )
    return path.read_bytes()


def keys(platform: Platform) -> set[str]:
    return {info.key for info in platform.services.store.list("")}


def test_metadata_is_bounded_normalised_and_public_videos_answer_anyone(
    platform_on: Callable[..., Platform], clip: bytes
) -> None:
    platform = platform_on()
    client = platform.client
    alice, bob = platform.user("alice"), platform.user("bob")
    video_id = ready_video(platform, alice, clip)
    r = client.patch(
        f"/api/v1/videos/{video_id}",
        headers=alice,
        json={
            "description": "<b>not rendered</b> <script>alert(1)</script>",
            "tags": ["#Cats", "Ünïcode", "cats", "snake_case", " kittens "],
            "category": "animals",
            "language": "pt-br",
            "comments": "held",
            "age_restricted": True,
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["tags"] == ["cats", "ünïcode", "snake_case", "kittens"]
    assert (body["category"], body["language"], body["comment_policy"]) == ("animals", "pt-BR", "held")
    assert body["age_restricted"] is True and body["title"] == "clip.mp4"
    # age-restricted videos are for signed-in adults only (test_cp_access.py): lift it here
    assert client.patch(
        f"/api/v1/videos/{video_id}", headers=alice, json={"age_restricted": False}
    ).is_success

    anonymous = client.get(f"/api/v1/videos/{video_id}")
    assert anonymous.status_code == 200, anonymous.text
    seen = anonymous.json()
    assert seen["channel"]["username"] == "alice" and seen["channel"]["display_name"] == "alice"
    assert seen["description"] == "<b>not rendered</b> <script>alert(1)</script>"
    assert seen["tags"] == body["tags"] and seen["published_at"] is not None
    assert (seen["views"], seen["likes"], seen["comments"]) == (0, 0, 0)
    assert seen["playback"]["hls"].endswith(".m3u8")
    bad_token = client.get(f"/api/v1/videos/{video_id}", headers={"Authorization": "Bearer nonsense"})
    assert bad_token.status_code == 401

    refused = {
        "tags": ([f"t{i}" for i in range(16)], 422),
        "category": ("opera", 422),
        "description": ("x" * 5001, 422),
        "title": ("", 422),
    }
    for field, (value, status) in refused.items():
        r = client.patch(f"/api/v1/videos/{video_id}", headers=alice, json={field: value})
        assert r.status_code == status, (field, r.text)
    for field, value in (
        ("tags", ["two words"]),
        ("tags", ["x" * 31]),
        ("tags", ["-"]),
        ("language", "en_GB"),
    ):
        r = client.patch(f"/api/v1/videos/{video_id}", headers=alice, json={field: value})
        assert r.status_code == 400 and r.json()["code"] == "INVALID_METADATA", (field, value, r.text)
    assert client.patch(f"/api/v1/videos/{video_id}", headers=bob, json={"title": "mine"}).status_code == 403
    assert client.patch(f"/api/v1/videos/{video_id}", json={"title": "mine"}).status_code == 401
    after = client.get(f"/api/v1/videos/{video_id}").json()
    assert after["tags"] == body["tags"] and after["title"] == "clip.mp4"  # nothing refused was kept

    cleared = client.patch(
        f"/api/v1/videos/{video_id}",
        headers=alice,
        json={"tags": None, "category": None, "description": None},
    ).json()
    assert (cleared["tags"], cleared["category"], cleared["description"]) == ([], None, "")
    assert cleared["language"] == "pt-BR"  # left out: unchanged

    client.patch(f"/api/v1/videos/{video_id}", headers=alice, json={"visibility": "unlisted"})
    assert client.get(f"/api/v1/videos/{video_id}").status_code == 200
    assert client.get("/api/v1/videos").json()["items"] == []
    client.patch(f"/api/v1/videos/{video_id}", headers=alice, json={"visibility": "private"})
    for headers in ({}, bob):
        r = client.get(f"/api/v1/videos/{video_id}", headers=headers)
        assert r.status_code == 404 and r.json()["code"] == "VIDEO_NOT_FOUND"
    assert client.get(f"/api/v1/videos/{video_id}", headers=alice).status_code == 200


@pytest.mark.slow
def test_the_catalogue_by_channel_tag_category_and_popularity(platform: Platform, clip: bytes) -> None:
    client = platform.client
    alice, bob = platform.user("alice"), platform.user("bob")
    cats = ready_video(platform, alice, clip)
    songs = ready_video(platform, alice, clip)
    duet = ready_video(platform, bob, clip)
    unfinished = platform.upload(alice, clip[:1000])  # fails to transcode: never listed
    for video_id, tags, category in (
        (cats, ["cats"], "animals"),
        (songs, ["songs"], "music"),
        (duet, ["Cats", "songs"], "music"),
    ):
        r = client.patch(
            f"/api/v1/videos/{video_id}",
            headers=alice if video_id != duet else bob,
            json={"tags": tags, "category": category},
        )
        assert r.status_code == 200, r.text

    def listed(**params: object) -> list[str]:
        r = client.get("/api/v1/videos", params=params)
        assert r.status_code == 200, r.text
        return [item["id"] for item in r.json()["items"]]

    everything = client.get("/api/v1/videos").json()["items"]
    assert {i["id"] for i in everything} == {cats, songs, duet}
    published = [i["published_at"] for i in everything]
    assert published == sorted(published, reverse=True)
    assert set(listed(channel="alice")) == {cats, songs}
    assert listed(channel="nobody") == []
    assert set(listed(tag="CATS")) == set(listed(tag="#cats")) == {cats, duet}
    assert listed(tag="no such tag!") == []
    assert set(listed(category="music")) == {songs, duet}
    assert set(listed(category="music", channel="bob", tag="songs")) == {duet}
    assert client.get("/api/v1/videos", params={"category": "opera"}).status_code == 422
    assert client.get("/api/v1/videos", params={"sort": "random"}).status_code == 422

    with platform.services.db.session() as session:
        platform.services.videos.add_counts(session, duet, views=5)
        platform.services.videos.add_counts(session, cats, views=2, likes=1)
    assert listed(sort="popular") == [duet, cats, songs]
    assert client.get(f"/api/v1/videos/{duet}").json()["views"] == 5

    pages, cursor = [], None
    while True:
        params = {"sort": "popular", "limit": 1, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/videos", params=params).json()
        pages += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
        latest = client.get("/api/v1/videos", params={"cursor": cursor})
        assert latest.status_code == 422 and latest.json()["code"] == "INVALID_CURSOR"
    assert pages == [duet, cats, songs]

    client.patch(f"/api/v1/videos/{songs}", headers=alice, json={"visibility": "private"})
    assert set(listed()) == {cats, duet}
    mine = client.get("/api/v1/users/me/videos", headers=alice).json()["items"]
    assert wait_until(lambda: jobs_done(platform, unfinished), 60)
    mine = client.get("/api/v1/users/me/videos", headers=alice).json()["items"]
    assert [v["id"] for v in mine] == [unfinished, songs, cats]  # newest upload first, every status
    assert mine[0]["status"] == "failed" and "/t/" in mine[1]["playback"]["hls"]  # private: signed
    ready = client.get("/api/v1/users/me/videos", headers=alice, params={"status": "ready"}).json()
    assert [v["id"] for v in ready["items"]] == [songs, cats]
    assert client.get("/api/v1/users/me/videos", headers=alice, params={"status": "gone"}).status_code == 422
    assert client.get("/api/v1/users/me/videos").status_code == 401


def index_ids(platform: Platform) -> set[int]:
    index = ReferenceIndex(platform.services.store, platform.services.kv)
    index.matcher()  # loads the shards from the store
    return set(index.audio.reference_ids) | set(index.video.reference_ids)


@pytest.mark.slow
def test_deleting_a_video_removes_every_blob_and_row_of_it(
    platform_on: Callable[..., Platform], clip: bytes
) -> None:
    platform = platform_on()
    client = platform.client
    alice, bob = platform.user("alice"), platform.user("bob")
    before = keys(platform)
    video_id = ready_video(platform, alice, clip)
    client.patch(f"/api/v1/videos/{video_id}", headers=alice, json={"tags": ["gone", "soon"]})
    r = client.post(
        "/api/v1/contentid/references", headers=alice, json={"video_id": video_id, "policy": "track"}
    )
    assert r.status_code == 201, r.text
    ref_id = r.json()["id"]
    assert wait_until(lambda: ref_id in index_ids(platform) and jobs_done(platform, video_id), 120)
    during = keys(platform)
    assert {k for k in during if video_id in k} >= {f"uploads/{video_id}", f"fingerprints/{video_id}.fp"}
    assert any(k.startswith(f"videos/{video_id}/") and k.endswith(".m4s") for k in during)
    assert any(k.startswith(f"videos/{video_id}/thumbnails/") for k in during)

    assert client.delete(f"/api/v1/videos/{video_id}").status_code == 401
    r = client.delete(f"/api/v1/videos/{video_id}", headers=bob)
    assert r.status_code == 403 and r.json()["code"] == "NOT_OWNER"
    assert client.delete(f"/api/v1/videos/{video_id}", headers=alice).status_code == 204

    assert client.get(f"/api/v1/videos/{video_id}", headers=alice).status_code == 404
    assert client.delete(f"/api/v1/videos/{video_id}", headers=alice).status_code == 404
    assert wait_until(lambda: ref_id not in index_ids(platform), 60), "the reference stayed in the index"
    after = keys(platform)
    shards = {k for k in after if k.startswith(INDEX_PREFIX)}  # the shared index, not the video's
    assert after - shards == before, sorted(after - shards - before)
    with platform.services.db.session() as session:
        for model, column in (
            (Video, Video.id),
            (VideoTag, VideoTag.video_id),
            (Upload, Upload.id),
            (Reference, Reference.video_id),
        ):
            assert (
                session.scalar(sa.select(sa.func.count()).select_from(model).where(column == video_id)) == 0
            )


@pytest.mark.slow
def test_a_video_deleted_while_it_is_processed_leaves_nothing_behind(platform: Platform, clip: bytes) -> None:
    alice = platform.user("alice")
    moderator = platform.user("mod", role="moderator")
    for pause in (0.0, 0.5, 1.5):
        video_id = platform.upload(alice, clip)
        time.sleep(pause)
        assert platform.client.delete(f"/api/v1/videos/{video_id}", headers=moderator).status_code == 204
        assert wait_until(lambda vid=video_id: jobs_done(platform, vid), 60)
        assert not [k for k in keys(platform) if video_id in k], pause


@pytest.mark.slow
def test_deleting_a_blocking_reference_releases_the_videos_it_blocked(
    platform: Platform, tmp_path: Path
) -> None:
    path = tmp_path / "long.mp4"
    source = [
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=160x120:rate=15:d=10",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
    ]
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", *source, str(path)], check=True)
    label, fan, friend = platform.user("label"), platform.user("fan"), platform.user("friend")
    assert platform.client.put("/api/v1/users/fan/follow", headers=friend).status_code == 204
    original = ready_video(platform, label, path.read_bytes())
    r = platform.client.post(
        "/api/v1/contentid/references", headers=label, json={"video_id": original, "policy": "block"}
    )
    assert r.status_code == 201, r.text
    ref_id = r.json()["id"]
    assert wait_until(lambda: ref_id in index_ids(platform) and jobs_done(platform, original), 120)
    copy = platform.upload(fan, path.read_bytes())
    assert wait_until(lambda: jobs_done(platform, copy), 120)
    blocked = platform.client.get(f"/api/v1/videos/{copy}", headers=fan).json()
    assert blocked["status"] == "blocked", blocked

    assert platform.client.delete(f"/api/v1/videos/{original}", headers=label).status_code == 204
    assert platform.client.get(f"/api/v1/videos/{copy}", headers=fan).json()["status"] == "ready"
    assert platform.client.get(f"/api/v1/videos/{copy}/claims", headers=fan).json() == []

    def in_friends_feed() -> bool:  # released from its hold, the video reaches followers' feeds
        items = platform.client.get("/api/v1/feed", headers=friend).json()["items"]
        return any(item["kind"] == "video" and item["video"]["id"] == copy for item in items)

    assert wait_until(in_friends_feed, 20)
