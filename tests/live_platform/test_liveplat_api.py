"""Live streams through the HTTP API: keys, ownership, roles, unsupported protocols, viewer counts,
and the service's state machine. No media here (see test_liveplat_ingest.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from support.platform import Platform

from control_plane.core.kv import MemoryKeyValue
from control_plane.live import PlaylistReader, StreamService, ViewerCounter, hls_prefix, key_hash, viewer_id
from control_plane.live.models import LiveStream
from storage import LocalStore


def create(platform: Platform, headers: dict[str, str], title: str = "My show") -> dict:
    r = platform.client.post("/api/v1/live/streams", json={"title": title}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def test_create_returns_urls_and_a_secret_key_stored_only_as_a_hash(platform: Platform) -> None:
    alice = platform.user("alice")
    body = create(platform, alice)
    assert set(body) >= {"id", "stream_key", "rtmp_url", "whip_url", "playback"}
    key, stream_id = body["stream_key"], body["id"]
    assert key.startswith("sk_") and len(key) == 46
    assert body["rtmp_url"] == "rtmp://127.0.0.1:1935/live"
    assert body["publish_url"] == f"rtmp://127.0.0.1:1935/live/{key}"
    assert body["playback"]["hls"] == f"http://127.0.0.1:8000/live/{stream_id}/hls/master.m3u8"
    assert body["playback"]["whep"] == f"http://127.0.0.1:8000/live/{stream_id}/whep"
    with platform.services.db.session() as session:
        row = session.execute(sa.select(LiveStream)).scalar_one()
        stored = [str(getattr(row, c.key)) for c in LiveStream.__table__.columns]
    assert key not in stored and row.key_hash == key_hash(key) and row.key_prefix == key[:12]

    r = platform.client.get(f"/api/v1/live/streams/{stream_id}", headers=alice)
    assert r.status_code == 200
    got = r.json()
    assert got["status"] == "idle" and got["viewers"] == 0 and got["events"] == []
    assert got["started_at"] is None and got["recording_video_id"] is None
    assert "stream_key" not in got


def test_rotate_key_replaces_the_old_one(platform: Platform) -> None:
    alice = platform.user("alice")
    body = create(platform, alice)
    streams = StreamService(platform.services.db)
    assert streams.find_by_key(body["stream_key"]) == body["id"]
    r = platform.client.post(f"/api/v1/live/streams/{body['id']}/rotate-key", headers=alice)
    assert r.status_code == 200
    new = r.json()["stream_key"]
    assert new != body["stream_key"] and new.startswith("sk_")
    assert streams.find_by_key(body["stream_key"]) is None
    assert streams.find_by_key(new) == body["id"]
    assert streams.find_by_key(new[:12] + "x" * 34) is None
    assert streams.find_by_key("not a key") is None


def test_other_users_cannot_read_or_rotate_and_viewers_cannot_create(platform: Platform) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    body = create(platform, alice)
    for method, path in (
        ("get", f"/api/v1/live/streams/{body['id']}"),
        ("post", f"/api/v1/live/streams/{body['id']}/rotate-key"),
        ("post", f"/api/v1/live/streams/{body['id']}/whip"),
    ):
        r = platform.client.request(method, path, headers=bob)
        assert r.status_code == 404, (path, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "LIVE_STREAM_NOT_FOUND"
        assert body["stream_key"] not in r.text
    assert StreamService(platform.services.db).find_by_key(body["stream_key"]) == body["id"]
    assert platform.client.get(f"/api/v1/live/streams/{body['id']}").status_code == 401

    carol = platform.user("carol", role="viewer")
    r = platform.client.post("/api/v1/live/streams", json={"title": "x"}, headers=carol)
    assert r.status_code == 403
    r = platform.client.post("/api/v1/live/streams", json={"title": ""}, headers=alice)
    assert r.status_code == 422 and r.json()["code"] == "VALIDATION_FAILED"
    mod = platform.user("mod", role="moderator")
    assert platform.client.get(f"/api/v1/live/streams/{body['id']}", headers=mod).status_code == 200


def test_playback_of_unknown_streams_and_files_is_404(platform: Platform) -> None:
    alice = platform.user("alice")
    body = create(platform, alice)
    assert platform.client.get("/live/nope/hls/index.m3u8").json()["code"] == "LIVE_FILE_NOT_FOUND"
    r = platform.client.get(f"/live/{body['id']}/hls/index.m3u8")  # not live yet: players retry
    assert r.status_code == 503 and r.json()["code"] == "LIVE_NOT_LIVE_YET"
    assert platform.client.get(f"/live/{body['id']}/hls/seg0.m4s").json()["code"] == "LIVE_FILE_NOT_FOUND"
    assert platform.client.get(f"/live/{body['id']}/hls/..secret").status_code == 404


def test_live_files_answer_head_as_players_send_it(platform: Platform) -> None:
    body = create(platform, platform.user("alice"))
    prefix = hls_prefix(body["id"])
    platform.services.store.put(prefix + "index.m3u8", b"#EXTM3U\n#EXT-X-VERSION:9\n")
    platform.services.store.put(prefix + "seg1.m4s", bytes(range(256)) * 4)
    for name, kind in (("index.m3u8", "application/vnd.apple.mpegurl"), ("seg1.m4s", "video/iso.segment")):
        url = f"/live/{body['id']}/hls/{name}"
        got, head = platform.client.get(url), platform.client.head(url)
        assert got.status_code == head.status_code == 200 and head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"] == kind
        assert head.headers["content-length"] == str(len(got.content))
    assert platform.client.head(f"/live/{body['id']}/hls/seg9.m4s").status_code == 404


def test_state_changes_move_the_status_and_are_listed(platform: Platform) -> None:
    alice = platform.user("alice")
    body = create(platform, alice)
    streams = StreamService(platform.services.db)
    for state in ("connected", "live", "disconnected", "connected", "live", "idle"):
        streams.record_state(body["id"], state)
        if state == "live":
            assert streams.view(body["id"]).status == "live"
    streams.record_state("unknown-stream", "live")  # ignored, as the ingest may race a deletion
    got = platform.client.get(f"/api/v1/live/streams/{body['id']}", headers=alice).json()
    assert got["status"] == "ended" and got["started_at"] is not None
    assert [e["state"] for e in got["events"]] == [
        "connected",
        "live",
        "disconnected",
        "connected",
        "live",
        "idle",
    ]
    times = [e["at"] for e in got["events"]]
    assert times == sorted(times)


def test_viewer_counter_counts_distinct_viewers_per_bucket() -> None:
    now = [1000.0]
    counter = ViewerCounter(MemoryKeyValue(), bucket_s=10, clock=lambda: now[0])
    for viewer in ("a", "b", "a", "c", "a"):
        counter.seen("s1", viewer)
    counter.seen("s2", "a")
    assert counter.count("s1") == 3 and counter.count("s2") == 1
    now[0] += 10  # next bucket: the previous one still counts
    counter.seen("s1", "a")
    assert counter.count("s1") == 3
    now[0] += 10  # two buckets on: only those seen in the last one remain
    assert counter.count("s1") == 1
    now[0] += 20
    assert counter.count("s1") == 0
    assert viewer_id(None, "1.2.3.4", "ua") == viewer_id(None, "1.2.3.4", "ua")
    assert viewer_id("p1", "1.2.3.4", "ua") != viewer_id("p2", "1.2.3.4", "ua")


def test_openapi_lists_the_live_routes(platform: Platform) -> None:
    paths = platform.client.get("/openapi.json").json()["paths"]
    assert {"post"} <= set(paths["/api/v1/live/streams"])
    assert set(paths["/api/v1/live/streams/{stream_id}"]) == {"get"}
    assert set(paths["/live/{stream_id}/whep"]) == {"post", "options"}
    assert "/live/{stream_id}/hls/{name}" in paths


def test_playlist_reads_are_shared_by_waiting_viewers(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "blobs", secret=b"x" * 32)
    now = [0.0]
    reader = PlaylistReader(store, fresh_s=0.05, max_keys=2, clock=lambda: now[0])

    async def go() -> None:
        assert await reader.read("live/s/hls/index.m3u8") is None
        store.put("live/s/hls/index.m3u8", b"#EXTM3U\n")
        assert await reader.read("live/s/hls/index.m3u8") is None  # still fresh: shared answer
        now[0] += 0.05
        texts = await asyncio.gather(*(reader.read("live/s/hls/index.m3u8") for _ in range(20)))
        assert texts == ["#EXTM3U\n"] * 20
        assert reader.reads == 2
        for name in ("a", "b", "c"):
            await reader.read(f"live/{name}/hls/index.m3u8")
        assert len(reader._cache) == 2

    asyncio.run(go())


def test_owners_list_their_streams_and_anyone_lists_the_live_ones(platform: Platform) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    mine = [create(platform, alice, f"show {i}")["id"] for i in range(3)]
    theirs = create(platform, bob, "bob's show")["id"]
    client = platform.client
    listed = client.get("/api/v1/live/streams", headers=alice, params={"limit": 2}).json()
    assert [s["id"] for s in listed["items"]] == mine[:0:-1] and listed["next_cursor"]
    rest = client.get("/api/v1/live/streams", headers=alice, params={"cursor": listed["next_cursor"]}).json()
    assert [s["id"] for s in rest["items"]] == [mine[0]] and rest["next_cursor"] is None
    assert "stream_key" not in str(listed) and theirs not in str(listed)
    assert client.get("/api/v1/live/streams").status_code == 401

    assert client.get("/api/v1/live").json() == {"items": [], "next_cursor": None}
    streams = StreamService(platform.services.db)
    for stream_id in (mine[0], theirs, mine[2]):
        streams.record_state(stream_id, "live")
    now = client.get("/api/v1/live").json()["items"]
    assert [s["id"] for s in now] == [mine[2], theirs, mine[0]]  # the latest to go live first
    assert now[1]["channel"] == {"username": "bob", "display_name": "bob"} and now[1]["title"] == "bob's show"
    assert now[1]["playback"]["hls"].endswith(f"/live/{theirs}/hls/master.m3u8")
    streams.record_state(theirs, "idle")
    assert [s["id"] for s in client.get("/api/v1/live").json()["items"]] == [mine[2], mine[0]]
