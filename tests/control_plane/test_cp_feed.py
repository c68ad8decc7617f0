"""The home feed through the API on both backends (SQLite with in-process timelines; PostgreSQL
with Redis timelines): what it shows, that it stays right through follows, blocks, mutes and
deletions, that losing every timeline loses nothing, that heavy authors are pulled and inactive
readers rebuilt, and that its pages hold still while new items arrive."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from support.platform import Platform
from support.social import Member, member, video_row
from support.waiting import wait_until

from control_plane.core.db import new_id, utcnow
from control_plane.feed.models import FeedItem, FeedReader
from control_plane.feed.stores import MemoryTimelines, RedisTimelines
from control_plane.http.pagination import encode_cursor
from control_plane.jobs.models import Job
from control_plane.videos.models import Video

FEED = "/api/v1/feed"
USERS = "/api/v1/users"


def read(
    platform: Platform,
    who: Member,
    *,
    algorithm: str = "following",
    cursor: str | None = None,
    limit: int = 20,
) -> dict[str, Any]:
    params: dict[str, Any] = {"algorithm": algorithm, "limit": limit}
    if cursor:
        params["cursor"] = cursor
    r = platform.client.get(FEED, params=params, headers=who.headers)
    assert r.status_code == 200, r.text
    return r.json()


def shown(page: dict[str, Any]) -> list[str]:
    """Each entry as its post's text or its video's title."""
    return [e["post"]["text"] if e["kind"] == "post" else e["video"]["title"] for e in page["items"]]


def texts(platform: Platform, who: Member, **kw: Any) -> list[str]:
    return shown(read(platform, who, **kw))


def post(platform: Platform, who: Member, text: str = "", **refs: str) -> str:
    r = platform.client.post("/api/v1/posts", json={"text": text, **refs}, headers=who.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def graph(platform: Platform, who: Member, verb: str, whom: str, *, undo: bool = False) -> None:
    method = platform.client.delete if undo else platform.client.put
    r = method(f"{USERS}/{whom}/{verb}", headers=who.headers)
    assert r.status_code == 204, r.text


def fanned_out(platform: Platform) -> None:
    """Wait until every fan-out job has run."""

    def idle() -> bool:
        with platform.services.db.session() as session:
            busy = session.scalar(
                sa.select(sa.func.count())
                .select_from(Job)
                .where(Job.kind == "feed.fanout", Job.status.in_(("queued", "running")))
            )
        return busy == 0

    assert wait_until(idle, 20), "fan-out jobs did not finish"


def flush_timelines(platform: Platform, *users: Member) -> None:
    """Lose every timeline, as a Redis FLUSHDB (or a restart of the embedded process) would."""
    store = platform.services.feed.store
    if isinstance(store, RedisTimelines):
        store.redis.flushdb()
    else:
        assert isinstance(store, MemoryTimelines)
        for user in users:
            store.drop(user.id)


def test_following_shows_followed_posts_newest_first_and_reposts_once(
    platform_on: Callable[..., Platform],
) -> None:
    platform = platform_on()
    ada, bob, cyd, dan = (member(platform, n) for n in ("ada", "bob", "cyd", "dan"))
    graph(platform, ada, "follow", "bob")
    graph(platform, ada, "follow", "cyd")
    b1 = post(platform, bob, "b1 hello")
    post(platform, cyd, "c1")
    post(platform, dan, "d1 unseen")  # ada does not follow dan
    post(platform, ada, "a1 own")  # the home feed holds the accounts followed
    assert texts(platform, ada) == ["c1", "b1 hello"]  # first read: rebuilt from the database
    assert platform.services.feed.store is not None
    post(platform, bob, "b2")
    post(
        platform, bob, "to dan", reply_to=post(platform, dan, "d2")
    )  # a reply to someone ada does not follow
    post(platform, bob, "to cyd", reply_to=post(platform, cyd, "c2"))
    post(platform, cyd, "", repost_of=b1)
    fanned_out(platform)
    page = read(platform, ada)
    assert shown(page) == ["b1 hello", "to cyd", "c2", "b2", "c1"]
    assert page["items"][0]["reposted_by"] == [{"id": cyd.id, "username": "cyd"}]
    assert page["items"][1]["reposted_by"] == []
    # a second repost moves it up once more, still once
    graph(platform, ada, "follow", "dan")
    post(platform, dan, "", repost_of=b1)
    fanned_out(platform)
    page = read(platform, ada)
    assert shown(page).count("b1 hello") == 1 and shown(page)[0] == "b1 hello"
    assert [u["username"] for u in page["items"][0]["reposted_by"]] == ["dan", "cyd"]
    # the fan-out wrote ada's timeline (she reads her feed), not bob's own
    store = platform.services.feed.store
    assert store.size(ada.id) >= 5 and store.size(bob.id) == 0


def test_losing_every_timeline_loses_nothing(platform_on: Callable[..., Platform]) -> None:
    platform = platform_on()
    ada, bob = member(platform, "ada"), member(platform, "bob")
    graph(platform, ada, "follow", "bob")
    read(platform, ada)
    for i in range(5):
        post(platform, bob, f"b{i}")
    fanned_out(platform)
    before = texts(platform, ada)
    assert before == ["b4", "b3", "b2", "b1", "b0"]
    flush_timelines(platform, ada)
    assert platform.services.feed.store.size(ada.id) == 0
    assert texts(platform, ada) == before  # rebuilt from the database on this read
    post(platform, bob, "b5")
    fanned_out(platform)
    assert texts(platform, ada)[0] == "b5"  # and fed again afterwards


def test_unfollow_block_and_mute_remove_and_follow_merges(platform_on: Callable[..., Platform]) -> None:
    platform = platform_on()
    ada, bob, cyd = (member(platform, n) for n in ("ada", "bob", "cyd"))
    graph(platform, ada, "follow", "bob")
    graph(platform, ada, "follow", "cyd")
    read(platform, ada)
    post(platform, bob, "b1")
    c1 = post(platform, cyd, "c1")
    post(platform, bob, "", repost_of=c1)
    fanned_out(platform)
    assert texts(platform, ada) == ["c1", "b1"]

    graph(platform, ada, "mute", "cyd")  # hides cyd's post, even reposted by bob
    assert texts(platform, ada) == ["b1"]
    graph(platform, ada, "mute", "cyd", undo=True)
    assert texts(platform, ada) == ["c1", "b1"]

    graph(platform, ada, "follow", "bob", undo=True)
    assert texts(platform, ada) == ["c1"]  # bob's repost no longer counts: c1 back at its own place
    graph(platform, ada, "follow", "bob")  # following again brings bob's items back
    assert texts(platform, ada) == ["c1", "b1"]
    assert read(platform, ada)["items"][0]["reposted_by"] == [{"id": bob.id, "username": "bob"}]

    graph(platform, cyd, "block", "ada")
    assert texts(platform, ada) == ["b1"]  # the block ended the follow and hides cyd, reposted or not
    post(platform, cyd, "c2")
    fanned_out(platform)
    assert texts(platform, ada) == ["b1"]


def test_deleted_posts_and_private_videos_disappear(platform_on: Callable[..., Platform]) -> None:
    platform = platform_on()
    ada, bob, cyd = (member(platform, n) for n in ("ada", "bob", "cyd"))
    graph(platform, ada, "follow", "bob")
    graph(platform, ada, "follow", "cyd")
    read(platform, ada)
    gone = post(platform, bob, "soon gone")
    post(platform, cyd, "", repost_of=gone)
    post(platform, bob, "stays")
    video_id = video_row(platform, bob, title="clip", visibility="private", published_at=utcnow())
    platform.services.videos.update(bob.id, video_id, {"visibility": "public"})  # published now
    fanned_out(platform)
    page = read(platform, ada)
    assert shown(page) == ["clip", "stays", "soon gone"]
    assert page["items"][0]["kind"] == "video" and page["items"][0]["video"]["owner"]["username"] == "bob"

    assert platform.client.delete(f"/api/v1/posts/{gone}", headers=bob.headers).status_code == 204
    assert texts(platform, ada) == ["clip", "stays"]  # gone at once, its repost too
    with platform.services.db.session() as session:
        assert (
            session.scalar(
                sa.select(sa.func.count()).select_from(FeedItem).where(FeedItem.author_id == cyd.id)
            )
            == 0
        )
    platform.services.videos.update(bob.id, video_id, {"visibility": "private"})
    assert texts(platform, ada) == ["stays"]
    platform.services.videos.update(bob.id, video_id, {"visibility": "public"})
    assert texts(platform, ada) == ["clip", "stays"]
    platform.services.videos.remove(video_id, by=bob.id)
    assert texts(platform, ada) == ["stays"]


def test_heavy_authors_are_pulled_and_merged(platform_on: Callable[..., Platform]) -> None:
    platform = platform_on(feed_push_max_followers=2)
    star, ada, bob, cyd, eve = (member(platform, n) for n in ("star", "ada", "bob", "cyd", "eve"))
    for fan in (ada, bob, cyd):
        graph(platform, fan, "follow", "star")
    graph(platform, ada, "follow", "eve")
    read(platform, ada)
    post(platform, eve, "e1")
    post(platform, star, "s1")
    post(platform, eve, "e2")
    post(platform, star, "", repost_of=post(platform, eve, "e3"))
    fanned_out(platform)
    with platform.services.db.session() as session:
        pushed = dict(session.execute(sa.select(FeedItem.author_id, FeedItem.pushed).distinct()).all())
    assert pushed == {eve.id: True, star.id: False}
    # star's items are not in ada's timeline, yet in her feed, in order; e3 once, reposted by star
    assert platform.services.feed.store.size(ada.id) == 3
    page = read(platform, ada)
    assert shown(page) == ["e3", "e2", "s1", "e1"]
    assert page["items"][0]["reposted_by"] == [{"id": star.id, "username": "star"}]
    # paged one by one, the merge neither repeats nor skips
    seen, cursor = [], None
    while True:
        one = read(platform, ada, cursor=cursor, limit=1)
        seen += shown(one)
        cursor = one["next_cursor"]
        if cursor is None:
            break
    assert seen == ["e3", "e2", "s1", "e1"]
    assert texts(platform, bob) == ["e3", "s1"]  # bob follows star only: e3 reaches him reposted
    # star's items live once, in star's own timeline, read with each follower's
    authors = platform.services.feed.authors
    assert authors is not None and authors.size(star.id) == 2
    post(platform, star, "s2")
    assert authors.size(star.id) == 3  # one write, whatever the followers
    assert texts(platform, ada)[:2] == ["s2", "e3"] and texts(platform, cyd) == ["s2", "e3", "s1"]


def test_inactive_readers_are_skipped_then_rebuilt(platform_on: Callable[..., Platform]) -> None:
    platform = platform_on()
    ada, bob, cyd = (member(platform, n) for n in ("ada", "bob", "cyd"))
    graph(platform, ada, "follow", "bob")
    graph(platform, cyd, "follow", "bob")
    read(platform, cyd)  # cyd reads her feed; ada never did
    feed = platform.services.feed
    first = feed.items.add_post(post_id=post(platform, bob, "b1"), author_id=bob.id)
    assert first is None  # recorded already, by the event
    fanned_out(platform)
    with platform.services.db.session() as session:
        seq = session.scalar(sa.select(FeedItem.seq).order_by(FeedItem.seq.desc()).limit(1))
    again = feed.fanout(seq)  # idempotent: the entry is there once
    assert (again["followers"], again["written"]) == (1, 1)
    assert feed.store.size(cyd.id) == 1
    assert feed.store.size(ada.id) == 0
    assert texts(platform, ada) == ["b1"]  # her first read builds her timeline: never an empty page

    # two weeks away: fan-outs skip her, and her return rebuilds what she missed
    with platform.services.db.session() as session:
        session.execute(
            sa.update(FeedReader)
            .where(FeedReader.user_id == ada.id)
            .values(last_read_at=utcnow() - timedelta(days=15))
        )
    feed.store.drop(ada.id)  # her timeline lapsed with her activity
    feed._seen.clear()
    post(platform, bob, "b2")
    fanned_out(platform)
    assert feed.store.size(ada.id) == 0 and feed.store.size(cyd.id) == 2
    assert texts(platform, ada) == ["b2", "b1"]


def test_pages_hold_still_while_items_arrive(platform_on: Callable[..., Platform]) -> None:
    platform = platform_on()
    ada, bob, cyd = (member(platform, n) for n in ("ada", "bob", "cyd"))
    graph(platform, ada, "follow", "bob")
    graph(platform, ada, "follow", "cyd")
    read(platform, ada)
    for i in range(7):
        post(platform, bob if i % 2 else cyd, f"p{i}")
    fanned_out(platform)
    for algorithm in ("following", "ranked"):
        first = read(platform, ada, algorithm=algorithm, limit=3)
        post(platform, bob, f"new {algorithm}")
        post(platform, cyd, f"newer {algorithm}")
        fanned_out(platform)
        pages, cursor = [shown(first)], first["next_cursor"]
        while cursor:
            page = read(platform, ada, algorithm=algorithm, cursor=cursor, limit=3)
            pages.append(shown(page))
            cursor = page["next_cursor"]
        everything = [t for p in pages for t in p]
        old = [f"p{i}" for i in range(7)]
        assert sorted(everything) == sorted(set(everything)), pages  # nothing twice
        assert set(old) <= set(everything), pages  # nothing skipped
        if algorithm == "following":
            assert everything == old[::-1], pages
    r = platform.client.get(FEED, params={"cursor": "nonsense"}, headers=ada.headers)
    assert r.status_code == 422 and r.json()["code"] == "INVALID_CURSOR"
    ranked = read(platform, ada, algorithm="ranked", limit=2)["next_cursor"]
    r = platform.client.get(FEED, params={"cursor": ranked}, headers=ada.headers)
    assert r.status_code == 422 and r.json()["code"] == "INVALID_CURSOR"  # another list's cursor
    expired = encode_cursor("ranked", ["no-such-order", 2])
    r = platform.client.get(FEED, params={"cursor": expired, "algorithm": "ranked"}, headers=ada.headers)
    assert r.status_code == 422 and r.json()["code"] == "INVALID_CURSOR"
    for bad in (0, -4, True, "x"):
        r = platform.client.get(
            FEED, params={"cursor": encode_cursor("following", [bad])}, headers=ada.headers
        )
        assert r.status_code == 422, bad
    assert platform.client.get(FEED).status_code == 401
    assert platform.client.get(FEED, params={"algorithm": "best"}, headers=ada.headers).status_code == 422


def test_scrolling_past_a_trimmed_timeline_reads_on_in_the_database(
    platform_on: Callable[..., Platform],
) -> None:
    platform = platform_on(feed_timeline_length=20)
    ada, bob = member(platform, "ada"), member(platform, "bob")
    graph(platform, ada, "follow", "bob")
    read(platform, ada)
    for i in range(26):
        post(platform, bob, f"b{i:02}")
    fanned_out(platform)
    assert platform.services.feed.store.size(ada.id) == 20
    seen, cursor = [], None
    while True:
        page = read(platform, ada, cursor=cursor, limit=7)
        seen += shown(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"b{i:02}" for i in reversed(range(26))]
    flush_timelines(platform, ada)  # rebuilt from a full page of the database: the same
    assert texts(platform, ada, limit=100) == seen


def test_ranked_scores_keeps_authors_apart_and_discovers(platform_on: Callable[..., Platform]) -> None:
    platform = platform_on()
    ada, bob, cyd, eve = (member(platform, n) for n in ("ada", "bob", "cyd", "eve"))
    graph(platform, ada, "follow", "bob")
    graph(platform, ada, "follow", "cyd")
    graph(platform, bob, "follow", "eve")  # eve: followed by someone ada follows
    read(platform, ada)
    popular = post(platform, eve, "eve's hit")
    platform.client.put(f"/api/v1/posts/{popular}/like", headers=bob.headers)
    for i in range(5):
        post(platform, bob, f"b{i}")
    post(platform, cyd, "c0")
    fanned_out(platform)
    page = read(platform, ada, algorithm="ranked")
    items = page["items"]
    authors = [e["post"]["author"]["username"] for e in items]
    assert "eve's hit" in shown(page) and "eve's hit" not in texts(platform, ada)
    assert sorted(shown(page)) == sorted([*(f"b{i}" for i in range(5)), "c0", "eve's hit"])
    assert all(isinstance(e["score"], float) for e in items)
    for i in range(len(authors) - 2):  # three in a row only once no other author is left
        if authors[i] == authors[i + 1] == authors[i + 2]:
            assert set(authors[i:]) == {authors[i]}, authors
    assert page["next_cursor"] is None
    # the discovered posts are kept a while per reader, but checked on every read: one deleted
    # is gone from the next ranked page at once
    assert platform.client.delete(f"/api/v1/posts/{popular}", headers=eve.headers).status_code == 204
    assert "eve's hit" not in texts(platform, ada, algorithm="ranked")


def test_fanout_metrics_are_exposed(platform_on: Callable[..., Platform]) -> None:
    platform = platform_on()
    ada, bob = member(platform, "ada"), member(platform, "bob")
    graph(platform, ada, "follow", "bob")
    read(platform, ada)
    post(platform, bob, "b1")
    fanned_out(platform)
    metrics = platform.client.get("/metrics").text
    for name in (
        "socialflow_feed_fanout_lag_seconds_count",
        "socialflow_feed_fanout_writes_total",
        "socialflow_feed_timeline_entries_bucket",
        "socialflow_feed_pull_merges_total",
        "socialflow_feed_rebuilds_total",
    ):
        assert name in metrics, name


def test_a_video_finished_by_a_worker_reaches_followers(platform_on: Callable[..., Platform]) -> None:
    """The processing job's video service (the workers' own, with their own events hub) tells the
    feed: a video made ready while public appears in followers' feeds; a private one does not."""
    from workers import runtime

    platform = platform_on()
    ada, bob = member(platform, "ada"), member(platform, "bob")
    graph(platform, ada, "follow", "bob")
    read(platform, ada)
    ids = {}
    for title, visibility in (("public clip", "public"), ("private clip", "private")):
        ids[title] = new_id()
        with platform.services.db.session() as session:
            session.add(
                Video(id=ids[title], owner_id=bob.id, title=title, status="processing", visibility=visibility)
            )
        done = runtime.current().videos.finished(
            ids[title], renditions=[], outputs={"hls": "x"}, duration=3.0, warnings=[]
        )
        assert done
    fanned_out(platform)
    page = read(platform, ada)
    assert shown(page) == ["public clip"]
    assert page["items"][0]["video"]["duration"] == 3.0


def test_a_video_released_from_a_screening_hold_reaches_followers(
    platform_on: Callable[..., Platform],
) -> None:
    """A public video the screening held when it finished processing is ``blocked``, out of every
    feed; the moderator's dismissal makes it ready, and followers' feeds get it then."""
    from control_plane.moderation.screening import Screener, TextScreen

    platform = platform_on()
    ada, bob = member(platform, "ada"), member(platform, "bob")
    mod = member(platform, "mod", role="moderator")
    graph(platform, ada, "follow", "bob")
    read(platform, ada)
    video_id = video_row(platform, bob, title="grumblecoin explained", status="processing")
    services = platform.services
    screener = Screener(services.db, services.videos, TextScreen(["grumblecoin"]), services.social.holds)
    assert screener.run()["videos"] == 1
    assert services.videos.finished(video_id, renditions=[], outputs={"hls": "x"}, duration=3.0, warnings=[])
    fanned_out(platform)
    assert texts(platform, ada) == []
    with platform.services.db.session() as session:
        assert session.get(Video, video_id).status == "blocked"  # type: ignore[union-attr]
    case = platform.client.get("/api/v1/moderation/queue", headers=mod.headers).json()["items"][0]
    r = platform.client.post(
        f"/api/v1/moderation/reports/{case['id']}/resolve", json={"action": "dismiss"}, headers=mod.headers
    )
    assert r.status_code == 200, r.text
    fanned_out(platform)
    assert texts(platform, ada) == ["grumblecoin explained"]
