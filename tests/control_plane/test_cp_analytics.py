"""Creator analytics on both backends: a video's report from real heartbeats (views, watch time,
average view duration, retention, countries, devices, daily series), the CSV export, the channel's
report with subscribers (gained, and lost by unfollows, blocks and closed accounts, per day), revenue from the
payments domain, who may read them, and the PNG chart drawn by a job and cached."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from support.platform import Platform
from support.social import member, ready_video
from support.viewing import DESKTOP, GB, PHONE, Clock, play, player

from control_plane.views import ViewRollup

API = "/api/v1"


@pytest.fixture
def watched(platform_on):  # type: ignore[no-untyped-def]
    """A 30 s video of ada's watched by three viewers: 30 s and 10 s from GB, 20 s on a phone
    from Germany; flushed, and the sessions rolled into retention."""
    platform: Platform = platform_on()
    clock = Clock()
    clock.now = datetime.now(UTC).timestamp()
    platform.services.views.clock = clock
    ada = member(platform, "ada")
    video = ready_video(platform, ada)
    platform.client.patch(f"{API}/videos/{video}", json={"title": "Thirty seconds"}, headers=ada.headers)
    from control_plane.videos.models import Video

    with platform.services.db.session() as session:
        session.get(Video, video).duration = 30.0  # type: ignore[union-attr]
    play(platform, clock, player(platform, GB), video, "viewer-one", 30, ua=DESKTOP)
    play(platform, clock, player(platform, "81.2.69.161"), video, "viewer-two", 10, ua=DESKTOP)
    play(platform, clock, player(platform, "5.9.0.1"), video, "viewer-three", 20, ua=PHONE)
    platform.services.views.flush()
    ViewRollup(platform.services.db, idle=1800).run(datetime.now(UTC) + timedelta(days=1))
    return platform, ada, video


def test_a_videos_report(watched) -> None:  # type: ignore[no-untyped-def]
    platform, ada, video = watched
    r = platform.client.get(f"{API}/videos/{video}/analytics", headers=ada.headers)
    assert r.status_code == 200, r.text
    report = r.json()
    today = datetime.now(UTC).date()
    assert report["to"] == today.isoformat() and len(report["daily"]) == 28
    assert report["views"] == 3 and report["watch_seconds"] == 60.0
    assert report["average_view_duration"] == 20.0
    assert report["daily"][-1] == {
        "day": today.isoformat(),
        "views": 3,
        "watch_seconds": 60.0,
        "subscribers_gained": None,  # a channel's only
        "subscribers_lost": None,
    }
    assert report["countries"] == [
        {"key": "GB", "views": 2, "watch_seconds": 40.0},
        {"key": "DE", "views": 1, "watch_seconds": 20.0},
    ]
    assert {d["key"]: d["views"] for d in report["devices"]} == {"desktop": 2, "mobile": 1}
    curve = {p["second"]: p["share"] for p in report["retention"]}
    assert curve[0] == 1.0 and curve[10] == 1.0 and curve[11] == pytest.approx(2 / 3, abs=1e-3)
    assert curve[20] == pytest.approx(2 / 3, abs=1e-3) and curve[21] == pytest.approx(1 / 3, abs=1e-3)
    assert curve[30] == pytest.approx(1 / 3, abs=1e-3)
    assert report["subscribers_gained"] is None and report["revenue"] == []


def test_the_csv_export_and_ranges(watched) -> None:  # type: ignore[no-untyped-def]
    platform, ada, video = watched
    today = datetime.now(UTC).date()
    r = platform.client.get(
        f"{API}/videos/{video}/analytics",
        params={"format": "csv", "from": (today - timedelta(days=2)).isoformat(), "to": today.isoformat()},
        headers=ada.headers,
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["day"] for row in rows] == [(today - timedelta(days=i)).isoformat() for i in (2, 1, 0)]
    assert rows[-1] == {
        "day": today.isoformat(),
        "views": "3",
        "watch_seconds": "60.0",
        "average_view_duration": "20.0",
    }
    for params in (
        {"from": today.isoformat(), "to": (today - timedelta(days=1)).isoformat()},
        {"from": (today - timedelta(days=400)).isoformat()},
    ):
        r = platform.client.get(f"{API}/videos/{video}/analytics", params=params, headers=ada.headers)
        assert r.status_code == 422 and r.json()["code"] == "INVALID_RANGE", (params, r.text[:300])


def test_who_may_read_analytics(watched) -> None:  # type: ignore[no-untyped-def]
    platform, ada, video = watched
    bob = member(platform, "bob")
    r = platform.client.get(f"{API}/videos/{video}/analytics", headers=bob.headers)
    assert r.status_code == 403 and r.json()["code"] == "NOT_OWNER"
    assert platform.client.get(f"{API}/videos/{video}/analytics").status_code == 401
    assert platform.client.get(f"{API}/videos/{'0' * 32}/analytics", headers=ada.headers).status_code == 404
    mod = member(platform, "mod", role="moderator")
    assert platform.client.get(f"{API}/videos/{video}/analytics", headers=mod.headers).json()["views"] == 3


def test_the_channels_report_counts_subscribers(watched) -> None:  # type: ignore[no-untyped-def]
    platform, ada, video = watched
    other = ready_video(platform, ada)
    fans = [member(platform, f"fan{i}") for i in range(3)]
    for fan in fans:
        assert platform.client.put(f"{API}/users/ada/follow", headers=fan.headers).status_code == 204
    assert platform.client.delete(f"{API}/users/ada/follow", headers=fans[0].headers).status_code == 204
    assert platform.client.delete(f"{API}/users/ada/follow", headers=fans[0].headers).status_code == 204
    assert platform.client.put(f"{API}/users/fan1/block", headers=ada.headers).status_code == 204
    report = platform.client.get(f"{API}/users/me/analytics", headers=ada.headers).json()
    assert report["views"] == 3 and report["watch_seconds"] == 60.0 and report["retention"] == []
    # an unfollow and a block that ended a follow are lost subscribers; unfollowing twice is one
    assert report["subscribers_gained"] == 3 and report["subscribers_lost"] == 2
    today = report["daily"][-1]
    assert today["subscribers_gained"] == 3 and today["subscribers_lost"] == 2
    assert report["daily"][0]["subscribers_lost"] == 0
    assert other
    assert platform.client.get(f"{API}/users/me/analytics", headers=fans[1].headers).json()["views"] == 0


def test_a_closed_account_is_a_subscriber_lost_by_each_channel_it_followed(platform_on) -> None:  # type: ignore[no-untyped-def]
    platform: Platform = platform_on()
    ada, bob, cyd, fan = (member(platform, name) for name in ("ada", "bob", "cyd", "fan"))
    for followee in ("ada", "bob"):
        assert platform.client.put(f"{API}/users/{followee}/follow", headers=fan.headers).status_code == 204
    assert platform.client.put(f"{API}/users/fan/follow", headers=cyd.headers).status_code == 204
    assert platform.client.put(f"{API}/users/ada/follow", headers=cyd.headers).status_code == 204

    def subscribers(who) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
        report = platform.client.get(f"{API}/users/me/analytics", headers=who.headers).json()
        followers = platform.client.get(f"{API}/users/{who.username}").json()["followers"]
        return report["subscribers_gained"], report["subscribers_lost"], followers

    assert subscribers(ada) == (2, 0, 2) and subscribers(bob) == (1, 0, 1)
    r = platform.client.request(
        "DELETE", f"{API}/users/me", json={"password": "correct horse battery"}, headers=fan.headers
    )
    assert r.status_code == 204, r.text
    # each channel it followed lost one subscriber today, and its follower count dropped
    assert subscribers(ada) == (2, 1, 1) and subscribers(bob) == (1, 1, 0)
    assert subscribers(cyd) == (0, 0, 0)  # it followed cyd's channel; following none of it is lost
    assert platform.client.get(f"{API}/users/cyd").json()["following"] == 1


def test_charts_are_drawn_by_a_job_and_cached(watched) -> None:  # type: ignore[no-untyped-def]
    platform, ada, video = watched
    for kind in ("retention", "daily"):
        path = f"{API}/videos/{video}/analytics/chart?kind={kind}"
        first = platform.client.get(path, headers=ada.headers)
        assert first.status_code == 202 and first.headers["retry-after"] == "2"
        assert first.json()["status"] == "rendering"
        import time

        deadline = time.monotonic() + 60
        while True:
            r = platform.client.get(path, headers=ada.headers)
            if r.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        assert r.content.startswith(b"\x89PNG\r\n\x1a\n")
        from PIL import Image

        assert Image.open(io.BytesIO(r.content)).size == (1000, 500)


def test_revenue_comes_from_the_payments_domain(platform_on) -> None:  # type: ignore[no-untyped-def]
    """A membership, a tip and the watch-time pool's share, as the payments ledger records them:
    the channel's revenue per currency and kind, a video's its watch-time earnings."""
    from control_plane.payments.payouts import previous_month
    from control_plane.payments.revenue import RecordedWatchTime

    platform: Platform = platform_on()
    alice, fan, bob = member(platform, "alice"), member(platform, "fan"), member(platform, "bob")
    watched_video, quiet_video = ready_video(platform, alice), ready_video(platform, alice)
    r = platform.client.post(
        f"{API}/creators/me/plans",
        json={"name": "Gold", "amount": 10_000, "currency": "usd", "interval": "month"},
        headers=alice.headers,
    )
    assert r.status_code == 201, r.text
    r = platform.client.post(f"{API}/subscriptions", json={"plan_id": r.json()["id"]}, headers=fan.headers)
    checkout = "/" + r.json()["checkout_url"].split("://", 1)[1].split("/", 1)[1]
    assert platform.client.post(checkout).json() == {"status": "complete"}
    r = platform.client.post(
        f"{API}/tips", json={"to": "alice", "amount": 1000, "currency": "eur"}, headers=bob.headers
    )
    secret = r.json()["client_secret"]
    confirm = f"{API}/payments/local/intents/{secret.split('_secret_')[0]}/confirm"
    assert platform.client.post(confirm, json={"client_secret": secret}).json() == {"status": "succeeded"}
    month = previous_month()
    with platform.services.db.session() as session:
        RecordedWatchTime.record(
            session, watched_video, 600, datetime.strptime(month + "-15", "%Y-%m-%d").date()
        )
    assert platform.services.payments.payouts.distribute(month) == {"usd": 1500, "eur": 150}

    channel = platform.client.get(f"{API}/users/me/analytics", headers=alice.headers).json()
    assert channel["revenue"] == [
        {"currency": "eur", "total": 850, "by_kind": {"tip": 700, "watch": 150}},
        {"currency": "usd", "total": 8500, "by_kind": {"membership": 7000, "watch": 1500}},
    ]
    video = platform.client.get(f"{API}/videos/{watched_video}/analytics", headers=alice.headers).json()
    assert video["revenue"] == [
        {"currency": "eur", "total": 150, "by_kind": {"watch": 150}},
        {"currency": "usd", "total": 1500, "by_kind": {"watch": 1500}},
    ]
    quiet = platform.client.get(f"{API}/videos/{quiet_video}/analytics", headers=alice.headers).json()
    assert quiet["revenue"] == []
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    before = platform.client.get(f"{API}/users/me/analytics?to={yesterday}", headers=alice.headers).json()
    assert before["revenue"] == []
    assert platform.client.get(f"{API}/users/me/analytics", headers=bob.headers).json()["revenue"] == []


def test_live_streams_keep_their_peak_of_concurrent_viewers(platform_on) -> None:  # type: ignore[no-untyped-def]
    """The peak of concurrent viewers, counted by API processes at once (threads here, on the
    real key-value store), shown by the stream's API while live, kept in the database when it
    ends, and listed in the channel's analytics."""
    from concurrent.futures import ThreadPoolExecutor

    from control_plane.live import StreamService, ViewerCounter
    from control_plane.live.models import LiveStream

    platform: Platform = platform_on()
    alice = member(platform, "alice")
    r = platform.client.post(f"{API}/live/streams", json={"title": "Late show"}, headers=alice.headers)
    assert r.status_code == 201, r.text
    stream = r.json()["id"]
    kv = platform.services.kv
    streams = StreamService(platform.services.db, peaks=ViewerCounter(kv).peak)
    streams.record_state(stream, "live")
    now = [1_000_000.0]
    counter = ViewerCounter(kv, clock=lambda: now[0])
    for crowd in (3, 2, 5):  # a bucket of 3 viewers, then 2, then 5
        for viewer in range(crowd):
            counter.seen(stream, f"v{viewer}")
        now[0] += counter.bucket_s
    assert counter.peak(stream) == 5
    with ThreadPoolExecutor(8) as pool:  # 160 viewers in one bucket, seen by 8 "processes"
        list(pool.map(lambda n: [counter.seen(stream, f"w{n}-{i}") for i in range(20)], range(8)))
    assert counter.peak(stream) == 160
    got = platform.client.get(f"{API}/live/streams/{stream}", headers=alice.headers).json()
    assert got["peak_viewers"] == 160 and got["status"] == "live"

    streams.record_state(stream, "idle")
    with platform.services.db.session() as session:
        assert session.get(LiveStream, stream).peak_viewers == 160  # type: ignore[union-attr]
    kv.delete(f"live:{stream}:peak")  # the counters lapse; the database keeps it
    assert (
        platform.client.get(f"{API}/live/streams/{stream}", headers=alice.headers).json()["peak_viewers"]
        == 160
    )
    report = platform.client.get(f"{API}/users/me/analytics", headers=alice.headers).json()
    assert [(s["stream_id"], s["title"], s["peak_viewers"]) for s in report["live"]] == [
        (stream, "Late show", 160)
    ]
    assert report["live"][0]["ended_at"] is not None
