"""Stuck streams: an ingest that dies leaves its streams ``live``; its lease lapses and the
``live.sweep`` job ends them (event ``lost``) and hands over the recording it left behind."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable

import pytest
from support.platform import Platform
from support.publishers import ULTRAFAST, Publishers
from support.waiting import wait_until

from control_plane.core.kv import MemoryKeyValue
from control_plane.jobs import enqueue
from control_plane.live import LEASE_TTL_S, RECORDINGS_DIR, StreamLeases, StreamService
from pipelines.live import LiveSettings
from rtmp import RtmpLimits
from workers.live import DatabaseAuthorizer, RtmpThread, StoreLiveSinks, build_ingest

TTL_S = 2.0  # seconds; the heartbeat runs every third of it, with room for a busy machine


def test_leases_hold_refresh_lapse_and_release() -> None:
    kv = MemoryKeyValue()
    first, second = StreamLeases(kv, ttl_s=0.3, holder="a"), StreamLeases(kv, ttl_s=0.3, holder="b")
    assert not first.hold("s") and first.held("s")  # taken fresh
    assert first.hold("s")  # refreshed
    assert not second.hold("s") and kv.get(first.key("s")) == b"a"  # someone else's: left alone
    second.release("s")
    assert first.held("s")
    time.sleep(0.4)
    assert not first.held("s") and not first.hold("s") and first.held("s")  # lapsed, then taken again
    first.release("s")
    assert not first.held("s")


@pytest.fixture
def publisher(ffmpeg_publishers: Publishers) -> Callable[[str], subprocess.Popen[bytes]]:
    return lambda url: ffmpeg_publishers.test_pattern(url, seconds=60, gop=25, video=ULTRAFAST)


def test_a_dead_ingest_stream_is_ended_by_the_sweep_with_its_recording(
    platform: Platform, publisher: Callable[[str], subprocess.Popen[bytes]]
) -> None:
    alice, admin = platform.user("alice"), platform.user("root", role="admin")
    body = platform.client.post("/api/v1/live/streams", json={"title": "show"}, headers=alice).json()
    stream_id = body["id"]
    ingest = build_ingest(platform.services, LiveSettings(ladder=False))
    wired = ingest.authorizer.leases  # every ingest holds leases, on the platform's key-value store
    assert wired is not None and wired.kv is platform.services.kv and wired.ttl_s == LEASE_TTL_S
    leases = StreamLeases(platform.services.kv, ttl_s=TTL_S)  # shorter, for the test's sake
    ingest.authorizer.leases = leases
    thread = RtmpThread("127.0.0.1", 0, ingest, RtmpLimits(reconnect_window_s=1.0)).start()
    frozen = False

    def status() -> dict:
        return platform.client.get(f"/api/v1/live/streams/{stream_id}", headers=alice).json()

    def sweep() -> dict:
        job = enqueue(platform.services.db, platform.services.broker, "live.sweep", args={"grace_s": TTL_S})
        done = platform.wait_job(job.id, admin, timeout=30)
        assert done["status"] == "succeeded", done
        return done["result"]

    try:
        publisher(f"rtmp://127.0.0.1:{thread.port}/live/{body['stream_key']}")
        assert wait_until(lambda: status()["status"] == "live", 15)
        time.sleep(TTL_S + 1.5)  # live for longer than the grace, with a recording under way
        assert sweep() == {"ended": {}}  # held by a living ingest: left alone
        assert status()["status"] == "live" and leases.held(stream_id)

        # The ingest dies without a word: its event loop stops, nothing reports idle.
        thread.loop.call_soon_threadsafe(thread.loop.stop)
        thread._thread.join(10)
        frozen = True
        assert status()["status"] == "live"  # stuck, as it would stay forever
        assert wait_until(lambda: not leases.held(stream_id), 3 * TTL_S)
        recordings = platform.services.settings.data_dir / RECORDINGS_DIR / stream_id
        assert [p.name for p in recordings.glob("*.flv")] == ["1.flv"]
        time.sleep(TTL_S)  # the recording untouched for the grace

        result = sweep()
        outcome = result["ended"][stream_id]
        assert outcome["recording_video_id"], result
        after = status()
        assert after["status"] == "ended" and after["ended_at"]
        assert [e["state"] for e in after["events"]] == ["connected", "live", "lost"]
        assert sweep() == {"ended": {}}  # nothing twice
        assert not list(recordings.glob("*.flv"))  # handed over

        assert wait_until(lambda: status()["recording_video_id"] == outcome["recording_video_id"], 15)
        video_id = outcome["recording_video_id"]

        def video() -> dict:
            return platform.client.get(f"/api/v1/videos/{video_id}", headers=alice).json()

        assert wait_until(lambda: video()["status"] in ("ready", "failed"), 60, step=0.2)
        done = video()
        assert done["status"] == "ready", done
        assert done["duration"] >= TTL_S + 1.0
    finally:
        if frozen:  # let the dead ingest's loop finish what it held, then close it
            thread.loop.run_until_complete(thread.server.stop())
            thread.loop.close()
            relay = getattr(ingest, "webrtc", None)  # the WebRTC relay, where the ingest has one
            if relay is not None:
                relay.stop()
        else:
            thread.stop()


def test_a_living_ingest_takes_a_lapsed_lease_again_and_revives_its_stream(platform: Platform) -> None:
    alice = platform.user("alice")
    body = platform.client.post("/api/v1/live/streams", json={"title": "show"}, headers=alice).json()
    stream_id, services = body["id"], platform.services
    streams = StreamService(services.db)
    leases = StreamLeases(services.kv, ttl_s=0.3)
    sinks = StoreLiveSinks(services.store, services.settings.data_dir / RECORDINGS_DIR)
    authorizer = DatabaseAuthorizer(streams, services.store, sinks, lambda recording: None, leases)

    async def session() -> list[str]:
        seen = []
        await authorizer.state_changed(stream_id, "connected")
        await authorizer.state_changed(stream_id, "live")
        started = streams.view(stream_id).started_at
        assert not streams.revive(stream_id)  # live and never swept: nothing to revive
        services.kv.delete(leases.key(stream_id))  # the key-value store lost it (an outage)
        assert streams.end_unheld(leases.held, grace_s=0.0) == [stream_id]
        seen.append(streams.view(stream_id).status)
        for _ in range(50):  # a heartbeat comes every 0.1 s
            await asyncio.sleep(0.1)
            if streams.view(stream_id).status == "live":
                break
        seen.append(streams.view(stream_id).status)
        assert leases.held(stream_id) and streams.view(stream_id).started_at == started
        await authorizer.state_changed(stream_id, "idle")
        seen.append(streams.view(stream_id).status)
        assert not leases.held(stream_id) and authorizer._heartbeat is None
        return seen

    assert asyncio.run(session()) == ["ended", "live", "ended"]
    events = [e.state for e in streams.view(stream_id).events]
    assert events == ["connected", "live", "lost", "live", "idle"]
