"""Views and watch time through the API, on both backends: PeerTube's rules (10 s, once per viewer
per hour, watch time capped at wall time), bots left out, counts flushed in batches into the
video row exactly once, sessions rolled into retention, and who may send heartbeats."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from support.platform import Platform
from support.social import member, ready_video
from support.viewing import DE, GB, PHONE, Clock, beat, play, player

from control_plane.videos.models import Video
from control_plane.views import Rules, ViewRollup
from control_plane.views.buffer import Beat, RedisViewBuffer
from control_plane.views.models import ViewFlush, ViewSession, WatchDaily, WatchRetention

API = "/api/v1"


def views_of(platform: Platform, video: str) -> int:
    with platform.services.db.session() as session:
        return int(session.get(Video, video).views)  # type: ignore[union-attr]


@pytest.fixture
def viewing(platform_on):  # type: ignore[no-untyped-def]
    platform = platform_on()
    clock = Clock()
    platform.services.views.clock = clock
    return platform, clock


def test_a_view_counts_after_ten_seconds_once_per_viewer_per_hour(viewing) -> None:  # type: ignore[no-untyped-def]
    platform, clock = viewing
    ada = member(platform, "ada")
    video = ready_video(platform, ada)
    gb, de = player(platform, GB), player(platform, DE)
    first = [beat(gb, video, "session-one", 0, 0).json()]
    clock.now += 5
    first.append(beat(gb, video, "session-one", 5, 5).json())
    assert not any(b["counted"] for b in first)
    platform.services.views.flush()
    assert views_of(platform, video) == 0
    clock.now += 5
    assert beat(gb, video, "session-one", 10, 10).json() == {"counted": True, "watched_seconds": 10.0}
    assert play(platform, clock, gb, video, "session-two", 20)["counted"] is False  # same viewer, same hour
    assert play(platform, clock, de, video, "session-three", 10, ua=PHONE)["counted"] is True
    assert views_of(platform, video) == 0  # buffered until the flush
    assert platform.services.views.flush() == 2
    assert views_of(platform, video) == 2
    assert platform.client.get(f"{API}/videos/{video}").json()["views"] == 2
    with platform.services.db.session() as session:
        daily = {
            (row.country, row.device): (row.views, row.watch_seconds)
            for row in session.scalars(sa.select(WatchDaily).where(WatchDaily.video_id == video))
        }
    assert daily == {("GB", "desktop"): (1, 30.0), ("DE", "mobile"): (1, 10.0)}


def test_short_videos_count_when_watched_whole_and_signed_in_viewers_count_by_account(viewing) -> None:  # type: ignore[no-untyped-def]
    platform, clock = viewing
    ada, bob = member(platform, "ada"), member(platform, "bob")
    video = ready_video(platform, ada)
    with platform.services.db.session() as session:
        session.get(Video, video).duration = 6.0  # type: ignore[union-attr]
    gb, de = player(platform, GB), player(platform, DE)
    assert play(platform, clock, gb, video, "short-one", 5, headers=bob.headers)["counted"] is False
    clock.now -= 3.5  # the player's last heartbeat, at the end of the video, 1.5 s after the one at 5 s
    assert beat(gb, video, "short-one", 6, 6, headers=bob.headers).json()["counted"] is True
    clock.now += 60
    # the same account from another address within the hour: not again
    assert play(platform, clock, de, video, "short-two", 10, headers=bob.headers)["counted"] is False
    platform.services.views.flush()
    assert views_of(platform, video) == 1


def test_watch_time_is_capped_at_wall_time_and_bots_are_not_counted(viewing) -> None:  # type: ignore[no-untyped-def]
    platform, clock = viewing
    ada = member(platform, "ada")
    video = ready_video(platform, ada)
    gb = player(platform, GB)
    assert beat(gb, video, "inflater", 0, 0).json()["watched_seconds"] == 0
    clock.now += 5
    # claims 1000 s after 5 s of wall time: 5 s and the 1 s of jitter allowed, no more
    assert beat(gb, video, "inflater", 5, 1000).json() == {"counted": False, "watched_seconds": 6.0}
    clock.now += 0.2  # faster than any player: ignored
    assert beat(gb, video, "inflater", 5, 1000).json()["watched_seconds"] == 6.0
    clock.now += 5
    assert beat(gb, video, "inflater", 10, 1000).json() == {"counted": True, "watched_seconds": 12.2}
    # a crawler plays the whole video: nothing recorded
    assert (
        play(platform, clock, player(platform, DE), video, "crawler-1", 30, ua="Googlebot/2.1")["counted"]
        is False
    )
    # a single heartbeat never makes a view, whatever it claims
    assert beat(player(platform, "1.1.1.1"), video, "only-one", 600, 600).json()["counted"] is False
    platform.services.views.flush()
    assert views_of(platform, video) == 1
    with platform.services.db.session() as session:
        assert session.scalar(sa.select(sa.func.sum(WatchDaily.watch_seconds))) == pytest.approx(12.2)
        assert {row.device for row in session.scalars(sa.select(ViewSession))} == {"desktop"}


def test_who_may_send_heartbeats(viewing) -> None:  # type: ignore[no-untyped-def]
    platform, clock = viewing
    ada, bob = member(platform, "ada"), member(platform, "bob")
    private = ready_video(platform, ada, visibility="private")
    r = beat(platform.client, private, "private-1", 0, 0, headers=bob.headers)
    assert r.status_code == 404 and r.json()["code"] == "VIDEO_NOT_FOUND"
    assert beat(platform.client, private, "private-1", 0, 0, headers=ada.headers).status_code == 200
    assert beat(platform.client, "0" * 32, "nothing-1", 0, 0).status_code == 404
    blocked = ready_video(platform, ada)
    r = platform.client.patch(
        f"{API}/videos/{blocked}", json={"blocked_countries": ["gb"]}, headers=ada.headers
    )
    assert r.status_code == 200, r.text
    platform.services.views._facts.clear()
    r = beat(player(platform, GB), blocked, "geo-1234", 0, 0)
    assert r.status_code == 451 and r.json()["code"] == "GEO_BLOCKED"
    assert beat(player(platform, DE), blocked, "geo-1234", 0, 0).status_code == 200
    restricted = ready_video(platform, ada)
    platform.client.patch(f"{API}/videos/{restricted}", json={"age_restricted": True}, headers=ada.headers)
    r = beat(player(platform, DE), restricted, "age-1234", 0, 0)
    assert r.status_code == 403 and r.json()["code"] == "AGE_RESTRICTED"
    r = beat(platform.client, video := restricted, "bad session!", 0, 0)
    assert r.status_code == 422 and video


def test_heartbeats_per_viewer_are_rate_limited(platform_on) -> None:  # type: ignore[no-untyped-def]
    platform = platform_on(views_heartbeats_per_minute=3)
    ada = member(platform, "ada")
    video = ready_video(platform, ada)
    answers = [beat(platform.client, video, f"session-{i}", 0, 0) for i in range(5)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429, 429]
    refused = answers[3]
    assert refused.json()["code"] == "RATE_LIMITED" and 1 <= int(refused.headers["Retry-After"]) <= 60
    # a signed-in player's heartbeats take the FastAPI route: limited by the same count
    bob = member(platform, "bob")
    assert beat(platform.client, video, "session-bob", 0, 0, headers=bob.headers).status_code == 200


def test_the_short_path_answers_as_the_route_does(viewing) -> None:  # type: ignore[no-untyped-def]
    """Anonymous JSON heartbeats are answered ahead of FastAPI (``views/fastpath.py``); signed-in
    ones, bodies that do not validate and other content types go to the route. Both answer alike,
    under the same middleware (request id, security headers, metrics by route template)."""
    platform, clock = viewing
    ada, bob = member(platform, "ada"), member(platform, "bob")
    video = ready_video(platform, ada)
    private = ready_video(platform, ada, visibility="private")
    gb = player(platform, GB)
    short = beat(gb, private, "private-2", 0, 0)  # anonymous: the short path
    routed = beat(gb, private, "private-2", 0, 0, headers=bob.headers)  # signed in: the route
    assert short.status_code == routed.status_code == 404
    assert short.json() == routed.json()
    assert short.headers["content-type"] == routed.headers["content-type"] == "application/problem+json"
    ok = beat(gb, video, "short-path-1", 0, 0, headers={"X-Request-ID": "player-42"})
    assert ok.status_code == 200 and ok.json() == {"counted": False, "watched_seconds": 0.0}
    assert ok.headers["x-request-id"] == "player-42"
    assert ok.headers["x-content-type-options"] == "nosniff"
    assert ok.headers["content-type"] == "application/json"
    clock.now += 5
    signed = beat(gb, video, "short-path-2", 0, 0, headers=bob.headers)
    assert signed.status_code == 200 and signed.json() == {"counted": False, "watched_seconds": 0.0}
    bad = beat(gb, video, "bad session!", 0, 0)
    assert bad.status_code == 422 and bad.json()["code"] == "VALIDATION_FAILED"
    assert bad.json()["errors"][0]["loc"] == ["body", "session"]
    text = gb.post(
        f"{API}/videos/{video}/views",
        content=b'{"session": "plain-text-1", "position": 0, "watched_seconds": 0}',
        headers={"Content-Type": "text/plain"},
    )
    assert text.status_code == 422
    metrics = platform.client.get("/metrics").text
    assert 'route="/api/v1/videos/{video_id}/views",status="200"' in metrics


ROUTE = 'route="/api/v1/videos/{video_id}/views"'
#: Headers whose values differ from one answer to the next.
VARYING = {"date", "content-length", "x-request-id"}


def _count(platform: Platform, status: int) -> float:
    """The HTTP metrics' count of heartbeat answers with ``status``, from ``/metrics``."""
    line = f'socialflow_http_requests_total{{method="POST",{ROUTE},status="{status}"}}'
    for row in platform.client.get("/metrics").text.splitlines():
        if row.startswith(line + " "):
            return float(row.rsplit(" ", 1)[1])
    return 0.0


def _shape(response: Any) -> list[tuple[str, str]]:
    return [(k, v) for k, v in response.headers.multi_items() if k not in VARYING]


@pytest.mark.parametrize("cors", [False, True])
def test_the_short_path_wraps_its_answers_as_the_middleware_does(platform_on, cors: bool) -> None:  # type: ignore[no-untyped-def]
    """The short path runs outside the API's other middleware and adds what it skips itself: the
    same headers in the same order (security headers, the site-wide CORS answer, the request id,
    echoed or made), counted in the same metrics, as the FastAPI route's answer to a signed-in
    player's heartbeat."""
    site = "https://player.example"
    platform = platform_on(**({"cors_origins": [site]} if cors else {}))
    platform.services.views.clock = Clock()
    ada, bob = member(platform, "ada"), member(platform, "bob")
    video, private = ready_video(platform, ada), ready_video(platform, ada, visibility="private")
    gb = player(platform, GB)
    origin = {"Origin": site} if cors else {}
    for headers in ({"X-Request-ID": "player-42", **origin}, origin):
        before = _count(platform, 200)
        short = beat(gb, video, "wrap-short", 0, 0, headers=headers)
        assert _count(platform, 200) == before + 1
        routed = beat(gb, video, "wrap-routed", 0, 0, headers={**headers, **bob.headers})
        assert _count(platform, 200) == before + 2
        assert short.status_code == routed.status_code == 200
        assert short.content == routed.content == b'{"counted":false,"watched_seconds":0.0}'
        assert _shape(short) == _shape(routed)
        assert short.headers["x-request-id"] == headers.get("X-Request-ID", short.headers["x-request-id"])
        assert len(short.headers["x-request-id"]) == (9 if "X-Request-ID" in headers else 32)
        assert short.headers["x-request-id"] != routed.headers["x-request-id"] or "X-Request-ID" in headers
    assert ("access-control-allow-origin", site) in _shape(short) if cors else "vary" not in short.headers
    before = _count(platform, 404)
    short = beat(gb, private, "wrap-private", 0, 0, headers=origin)
    routed = beat(gb, private, "wrap-private", 0, 0, headers={**origin, **bob.headers})
    assert short.status_code == routed.status_code == 404 and short.json() == routed.json()
    assert _shape(short) == _shape(routed) and _count(platform, 404) == before + 2


@pytest.mark.parametrize("limit", [2048, 8192])
def test_bodies_over_the_limit_get_the_same_problems(platform_on, limit: int) -> None:  # type: ignore[no-untyped-def]
    """The short path keeps the API's body limit: a heartbeat body over ``max_request_body`` is
    refused with the layer's 413, declared or streamed, whether the limit is below the short
    path's own 4 KiB bound or above it; a body over that bound but within the limit is handed on
    to the route, which takes it."""
    platform = platform_on(max_request_body=limit)
    platform.services.views.clock = Clock()
    video = ready_video(platform, member(platform, "ada"))
    gb = player(platform, GB)
    url = f"{API}/videos/{video}/views"
    body = {"session": "big-body-1", "position": 0, "watched_seconds": 0, "padding": "x" * (limit + 100)}
    big = json.dumps(body).encode()
    json_type = {"Content-Type": "application/json"}
    declared = gb.post(url, content=big, headers=json_type)
    streamed = gb.post(url, content=iter([big[:1000], big[1000:]]), headers=json_type)
    for r in (declared, streamed):
        assert r.status_code == 413, (r.text, r is declared)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "PAYLOAD_TOO_LARGE" and r.json()["detail"].endswith(f"{limit} bytes.")
        assert r.headers["x-content-type-options"] == "nosniff" and len(r.headers["x-request-id"]) == 32
    body["padding"] = "x" * 5000  # past the short path's 4 KiB: the route answers it, alike
    r = gb.post(url, json=body)
    if limit > 5100:
        assert r.status_code == 200 and r.json() == {"counted": False, "watched_seconds": 0.0}
        assert r.headers["x-content-type-options"] == "nosniff"
    else:
        assert r.status_code == 413


def test_a_batch_of_beats_applies_each_in_order(viewing) -> None:  # type: ignore[no-untyped-def]
    """``beat_many`` (one Redis pipeline for the beats of concurrent requests) keeps each beat's
    rules: the second beat of a session too soon after the first is ignored, the session counts
    once its watch time is reached, a viewer over the per-minute limit is refused."""
    platform, clock = viewing
    buffer = platform.services.views.buffer
    base: dict[str, Any] = dict(video_id="v" * 32, owner_id="o" * 32, user_id=None, country="GB")
    base |= dict(device="desktop", day="2027-01-15", threshold=10.0)

    def at(session: str, now: float, watched: float, viewer: str = "a:viewer") -> Beat:
        return Beat(session=session, viewer=viewer, now=now, position=watched, watched=watched, **base)

    t = clock.now
    results = buffer.beat_many([at("s1", t, 0), at("s1", t + 0.2, 5), at("s2", t, 0, "a:other")])
    assert [(r.accepted, r.retry) for r in results] == [(True, 0), (False, 0), (True, 0)]
    results = buffer.beat_many([at("s1", t + 5, 5), at("s1", t + 10, 10), at("s2", t + 10, 10, "a:other")])
    assert [(r.watched, r.counted) for r in results] == [(5.0, False), (10.0, True), (10.0, True)]
    rules, buffer.rules = buffer.rules, Rules(per_minute=2)  # a limit of 2 a minute for this check
    try:
        results = buffer.beat_many([at(f"r{i}", t + 70, 0, "a:rapid") for i in range(4)])
    finally:
        buffer.rules = rules
    assert [r.retry > 0 for r in results] == [False, False, True, True]
    if isinstance(buffer, RedisViewBuffer):  # a server without the script: loaded, the batch sent again
        buffer._beat.sha = "0" * 40
        results = buffer.beat_many([at("s3", t + 80, 0, "a:third"), at("s4", t + 80, 0, "a:fourth")])
        assert [r.accepted for r in results] == [True, True] and buffer._beat.sha != "0" * 40


def test_a_flush_is_applied_exactly_once_even_if_it_stopped_half_way(viewing) -> None:  # type: ignore[no-untyped-def]
    platform, clock = viewing
    ada = member(platform, "ada")
    video = ready_video(platform, ada)
    views = platform.services.views
    play(platform, clock, player(platform, GB), video, "crash-one", 10)
    # a flush took the buffer and committed, then died before forgetting the batch
    assert views.buffer.take("a" * 32)
    views._apply("a" * 32)
    assert views.buffer.batches() == []
    assert views_of(platform, video) == 1
    batch_left = "b" * 32
    play(platform, clock, player(platform, DE), video, "crash-two", 10)
    assert views.buffer.take(batch_left)  # taken, never applied: the process died
    with platform.services.db.session() as session:
        session.add(ViewFlush(token="c" * 32))
    assert views.buffer.batches() == [batch_left]
    assert views.flush() == 1
    assert views.buffer.batches() == []
    assert views.flush() == 0
    assert views_of(platform, video) == 2


def test_rollup_builds_retention_and_prunes_old_sessions(viewing) -> None:  # type: ignore[no-untyped-def]
    platform, clock = viewing
    ada = member(platform, "ada")
    video = ready_video(platform, ada)
    for i, seconds in enumerate((10, 20, 20)):
        play(platform, clock, player(platform, f"81.2.69.{160 + i}"), video, f"retain-{i}", seconds)
    platform.services.views.flush()
    rollup = ViewRollup(platform.services.db, idle=1800, retention_days=30)
    later = datetime.fromtimestamp(clock.now, UTC) + timedelta(hours=1)
    assert rollup.run(later) == {"rolled": 3, "expired": 0}
    with platform.services.db.session() as session:
        histogram = dict(session.execute(sa.select(WatchRetention.second, WatchRetention.sessions)).all())
        assert histogram == {10: 1, 20: 2}
    assert rollup.run(later + timedelta(days=31)) == {"rolled": 0, "expired": 3}


def test_deleting_a_video_removes_its_sessions(viewing) -> None:  # type: ignore[no-untyped-def]
    platform, clock = viewing
    ada = member(platform, "ada")
    video = ready_video(platform, ada)
    play(platform, clock, player(platform, GB), video, "gone-one", 10)
    platform.services.views.flush()
    assert platform.client.delete(f"{API}/videos/{video}", headers=ada.headers).status_code == 204
    with platform.services.db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ViewSession)) == 0
        assert session.scalar(sa.select(sa.func.sum(WatchDaily.views))) == 1  # kept for payouts
