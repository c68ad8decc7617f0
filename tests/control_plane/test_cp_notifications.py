"""Notifications through the API on both backends, with the jobs running in-process: what each
source makes, grouping and regrouping, blocks and mutes, reading, removal with the subject,
preferences, conversation mutes, bells with batched fan-out, retention."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from support.notify import API, drain, inbox, notifying_platform
from support.platform import Platform
from support.social import Member, member, ready_video

from control_plane.core.db import utcnow
from control_plane.core.pubsub import MemoryPubSub
from control_plane.jobs.models import Job
from control_plane.live.service import StreamService
from control_plane.moderation.events import ContentReleased, ModerationAction
from control_plane.moderation.screening import Screener, TextScreen
from control_plane.notifications.models import Notification
from control_plane.notifications.service import NotificationService
from control_plane.payments.events import TipReceived
from control_plane.videos.models import Video


@pytest.fixture(params=["sqlite", "postgres"])
def plat(
    request: pytest.FixtureRequest, tmp_path: Path, platform_factory: Callable[..., Platform]
) -> Platform:
    return notifying_platform(request.param, request, tmp_path, platform_factory, notification_fanout_batch=2)


def post(p: Platform, who: Member, **body: object) -> str:
    r = p.client.post(f"{API}/posts", json={"text": "hello", **body}, headers=who.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def types(items: list[dict]) -> list[str]:
    return [i["type"] for i in items]


def test_likes_and_follows_group_and_regroup(plat: Platform) -> None:
    ada, bob, cyd, dee = (member(plat, n) for n in ("ada", "bob", "cyd", "dee"))
    first = post(plat, ada)
    for fan in (bob, cyd):
        assert plat.client.put(f"{API}/posts/{first}/like", headers=fan.headers).status_code == 204
        drain(plat)
    (group,) = inbox(plat, ada.headers)
    assert (
        group["type"] == "like" and group["count"] == 2 and group["text"] == "cyd and 1 other liked your post"
    )
    assert group["subject"] == {"type": "post", "id": first} and not group["read"]
    plat.client.put(f"{API}/posts/{first}/like", headers=dee.headers)
    drain(plat)
    (regrouped,) = inbox(plat, ada.headers)
    assert regrouped["id"] > group["id"] and regrouped["count"] == 3
    assert [a["username"] for a in regrouped["actors"]] == ["dee", "cyd", "bob"]
    # an unlike and a like again add nothing
    plat.client.delete(f"{API}/posts/{first}/like", headers=bob.headers)
    plat.client.put(f"{API}/posts/{first}/like", headers=bob.headers)
    drain(plat)
    assert [i["id"] for i in inbox(plat, ada.headers)] == [regrouped["id"]]
    # once read, the next like starts a new group
    assert plat.client.post(
        f"{API}/notifications/read", json={"up_to": regrouped["id"]}, headers=ada.headers
    ).json() == {"unread": 0}
    plat.client.delete(f"{API}/posts/{first}/like", headers=cyd.headers)
    plat.client.put(f"{API}/posts/{first}/like", headers=cyd.headers)
    drain(plat)
    for fan in (bob, cyd):
        plat.client.put(f"{API}/users/ada/follow", headers=fan.headers)
    drain(plat)
    items = inbox(plat, ada.headers)
    assert [(i["type"], i["count"], i["read"]) for i in items] == [
        ("follow", 2, False),
        ("like", 1, False),
        ("like", 3, True),
    ]
    assert items[0]["text"] == "cyd and 1 other followed you"
    assert inbox(plat, ada.headers, unread="true") == items[:2]
    assert plat.client.get(f"{API}/notifications/unread-count", headers=ada.headers).json() == {"unread": 2}
    # nobody is told of their own doing
    plat.client.put(f"{API}/posts/{first}/like", headers=ada.headers)
    drain(plat)
    assert len(inbox(plat, ada.headers)) == 3


def test_every_social_source_and_removal_with_its_subject(plat: Platform) -> None:
    ada, bob = member(plat, "ada"), member(plat, "bob")
    video = ready_video(plat, ada)
    first = post(plat, ada, text="first")
    reply = post(plat, bob, text="a reply, cc @ada", reply_to=first)
    post(plat, bob, text="quoting", quote_of=first)
    post(plat, bob, text="", repost_of=first)
    post(plat, bob, text="hey @ada")
    comment = plat.client.post(
        f"{API}/videos/{video}/comments", json={"text": "nice"}, headers=bob.headers
    ).json()
    own = plat.client.post(
        f"{API}/videos/{video}/comments", json={"text": "thanks"}, headers=ada.headers
    ).json()
    plat.client.post(
        f"{API}/videos/{video}/comments",
        json={"text": "welcome", "parent_id": own["id"]},
        headers=bob.headers,
    )
    plat.client.put(f"{API}/comments/{own['id']}/like", headers=bob.headers)
    plat.client.put(f"{API}/videos/{video}/like", headers=bob.headers)
    drain(plat)
    # events of a burst are ingested by concurrent jobs: compare what was made, not in which order
    items = inbox(plat, ada.headers)
    assert sorted(types(items)) == ["comment", "like", "like", "mention", "quote", "reply", "reply", "repost"]
    replies = {i["subject"]["type"]: i for i in items if i["type"] == "reply"}
    assert replies["post"]["subject"]["id"] == reply and replies["post"]["actor"]["username"] == "bob"
    assert replies["comment"]["context"] == {"type": "video", "id": video}
    # the reply mentioning ada is a reply only; the comment reply is not also a "comment"
    assert plat.client.delete(f"{API}/comments/{comment['id']}", headers=bob.headers).status_code == 204
    assert plat.client.delete(f"{API}/posts/{reply}", headers=bob.headers).status_code == 204
    drain(plat)
    assert sorted(types(inbox(plat, ada.headers))) == ["like", "like", "mention", "quote", "reply", "repost"]
    plat.services.videos.remove(video, by=ada.id)
    drain(plat)
    assert sorted(types(inbox(plat, ada.headers))) == ["mention", "quote", "repost"]


def test_blocked_and_muted_accounts_never_reach_the_inbox(plat: Platform) -> None:
    ada, bob, cyd = member(plat, "ada"), member(plat, "bob"), member(plat, "cyd")
    first = post(plat, ada)
    plat.client.put(f"{API}/users/bob/mute", headers=ada.headers)
    plat.client.put(f"{API}/posts/{first}/like", headers=bob.headers)
    plat.client.put(f"{API}/users/ada/follow", headers=bob.headers)
    drain(plat)
    assert inbox(plat, ada.headers) == []
    plat.client.put(f"{API}/posts/{first}/like", headers=cyd.headers)
    drain(plat)
    assert len(inbox(plat, ada.headers)) == 1
    plat.client.put(f"{API}/users/cyd/block", headers=ada.headers)
    assert inbox(plat, ada.headers) == []
    assert plat.client.get(f"{API}/notifications/unread-count", headers=ada.headers).json() == {"unread": 0}
    plat.client.delete(f"{API}/users/bob/mute", headers=ada.headers)
    assert inbox(plat, ada.headers) == []  # what was held back while muted is not made later


def test_what_a_held_post_or_comment_told_is_told_again_once_at_its_release(plat: Platform) -> None:
    """The screening's hold withdraws the mention, reply and comment notifications; the moderator's
    release makes them again, once, through the same checks (a block or mute since, preferences)."""
    ada, bob, cyd, dee, eve = (member(plat, n) for n in ("ada", "bob", "cyd", "dee", "eve"))
    mod = member(plat, "mod", role="moderator")
    assert plat.client.put(f"{API}/users/bob/bell", headers=ada.headers).status_code == 204
    video = ready_video(plat, cyd)
    first = post(plat, ada, text="first")
    reply = post(plat, bob, text="grumblecoin for @ada @dee @eve", reply_to=first)
    news = post(plat, bob, text="grumblecoin news")  # to bob's bells
    comments = f"{API}/videos/{video}/comments"
    top = plat.client.post(comments, json={"text": "thanks"}, headers=ada.headers).json()["id"]
    spam = plat.client.post(
        comments, json={"text": "grumblecoin here", "parent_id": top}, headers=bob.headers
    ).json()["id"]
    drain(plat)
    told = {who.username: sorted(types(inbox(plat, who.headers))) for who in (ada, cyd, dee, eve)}
    assert told == {
        "ada": ["new_post", "reply", "reply"],
        "cyd": ["comment", "comment"],
        "dee": ["mention"],
        "eve": ["mention"],
    }
    screener = Screener(
        plat.services.db,
        plat.services.videos,
        TextScreen(["grumblecoin"]),
        plat.services.social.holds,
        plat.services.events,
    )
    assert screener.run() == {"posts": 2, "comments": 1, "videos": 0}
    drain(plat)
    assert [types(inbox(plat, w.headers)) for w in (ada, dee, eve)] == [[], [], []]
    assert [i["actor"]["username"] for i in inbox(plat, cyd.headers)] == ["ada"]  # bob's went
    # while held: dee mutes bob, eve blocks him, cyd turns comment notifications off
    assert plat.client.put(f"{API}/users/bob/mute", headers=dee.headers).status_code == 204
    assert plat.client.put(f"{API}/users/bob/block", headers=eve.headers).status_code == 204
    prefs = {"types": {"comment": {"in_app": False, "push": False, "email": False}}}
    assert (
        plat.client.put(
            f"{API}/users/me/notification-preferences", json=prefs, headers=cyd.headers
        ).status_code
        == 200
    )
    heard: list[ContentReleased] = []
    plat.services.events.subscribe(ContentReleased, heard.append)
    queue = plat.client.get(f"{API}/moderation/queue", headers=mod.headers).json()["items"]
    assert {c["subject_id"] for c in queue} == {reply, news, spam}
    for case in queue:
        resolve = f"{API}/moderation/reports/{case['id']}/resolve"
        assert plat.client.post(resolve, json={"action": "dismiss"}, headers=mod.headers).status_code == 200
        assert plat.client.post(resolve, json={"action": "dismiss"}, headers=mod.headers).status_code == 409
    drain(plat)
    assert sorted((e.subject_type, e.subject_id) for e in heard) == sorted(
        [("post", reply), ("post", news), ("comment", spam)]
    )
    items = inbox(plat, ada.headers)
    assert sorted((i["type"], i["subject"]["type"], i["subject"]["id"]) for i in items) == [
        ("new_post", "post", news),
        ("reply", "comment", spam),
        ("reply", "post", reply),
    ]
    assert all(i["actor"]["username"] == "bob" for i in items)
    assert [types(inbox(plat, w.headers)) for w in (dee, eve)] == [[], []]
    assert [i["actor"]["username"] for i in inbox(plat, cyd.headers)] == ["ada"]
    assert screener.run() == {"posts": 0, "comments": 0, "videos": 0}  # nothing new: told once
    drain(plat)
    assert len(inbox(plat, ada.headers)) == 3


def test_reading_is_up_to_an_id_and_never_ahead(plat: Platform) -> None:
    ada, bob = member(plat, "ada"), member(plat, "bob")
    for text in ("one", "two"):
        post(plat, bob, text=f"{text} @ada")
    drain(plat)
    newer, older = inbox(plat, ada.headers)
    r = plat.client.post(f"{API}/notifications/read", json={"up_to": older["id"]}, headers=ada.headers)
    assert r.json() == {"unread": 1}
    r = plat.client.post(f"{API}/notifications/read", json={"up_to": 10**12}, headers=ada.headers)
    assert r.json() == {"unread": 0}
    post(plat, bob, text="three @ada")
    drain(plat)
    assert [i["read"] for i in inbox(plat, ada.headers)] == [False, True, True]
    r = plat.client.post(f"{API}/notifications/read", json={"up_to": "x"}, headers=ada.headers)
    assert r.status_code == 422
    page = plat.client.get(f"{API}/notifications", params={"limit": 2}, headers=ada.headers).json()
    rest = plat.client.get(
        f"{API}/notifications", params={"cursor": page["next_cursor"]}, headers=ada.headers
    ).json()
    assert len(page["items"]) == 2 and len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert (
        plat.client.get(f"{API}/notifications", params={"cursor": "nope"}, headers=ada.headers).status_code
        == 422
    )


def test_preferences_turn_channels_off_and_refuse_what_is_not_there(plat: Platform) -> None:
    ada, bob = member(plat, "ada"), member(plat, "bob")
    url = f"{API}/users/me/notification-preferences"
    prefs = plat.client.get(url, headers=ada.headers).json()
    assert prefs["types"]["like"] == {"in_app": True, "push": True, "email": False}
    assert prefs["types"]["claim"]["email"] is True and prefs["digest"] == "weekly"
    r = plat.client.put(
        url,
        json={
            "types": {"follow": {"in_app": False, "push": False}},
            "digest": "daily",
            "time_zone": "Europe/Paris",
            "quiet_hours": {"start": "22:00", "end": "07:30"},
            "push_previews": False,
        },
        headers=ada.headers,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["types"]["follow"] == {"in_app": False, "push": False, "email": False}
    assert body["types"]["like"]["in_app"] is True
    assert body["quiet_hours"] == {"start": "22:00", "end": "07:30"} and body["time_zone"] == "Europe/Paris"
    assert plat.client.put(url, json={"quiet_hours": None}, headers=ada.headers).json()["quiet_hours"] is None
    for bad in ({"time_zone": "Mars/Olympus"}, {"types": {"nope": {"push": True}}}, {"digest": "hourly"}):
        assert plat.client.put(url, json=bad, headers=ada.headers).status_code == 422, bad
    plat.client.put(f"{API}/users/ada/follow", headers=bob.headers)
    drain(plat)
    assert inbox(plat, ada.headers) == []
    assert plat.client.get(url).status_code == 401


def test_a_muted_conversation_is_quiet_down_its_whole_thread(plat: Platform) -> None:
    ada, bob = member(plat, "ada"), member(plat, "bob")
    root = post(plat, ada, text="thread")
    mine = post(plat, ada, text="more", reply_to=post(plat, bob, text="r1", reply_to=root))
    drain(plat)
    assert types(inbox(plat, ada.headers)) == ["reply"]
    assert plat.client.put(f"{API}/notifications/mutes/post/{root}", headers=ada.headers).status_code == 204
    post(plat, bob, text="deep @ada", reply_to=mine)
    plat.client.put(f"{API}/posts/{root}/like", headers=bob.headers)
    drain(plat)
    assert types(inbox(plat, ada.headers)) == ["reply"]
    assert (
        plat.client.delete(f"{API}/notifications/mutes/post/{root}", headers=ada.headers).status_code == 204
    )
    post(plat, bob, text="again", reply_to=mine)
    drain(plat)
    assert types(inbox(plat, ada.headers)) == ["reply", "reply"]
    assert plat.client.put(f"{API}/notifications/mutes/user/{root}", headers=ada.headers).status_code == 422


def test_bells_fan_out_in_batches_and_live_reaches_every_follower(plat: Platform) -> None:
    ada = member(plat, "ada")
    fans = [member(plat, f"fan{i}") for i in range(5)]
    for fan in fans:
        assert plat.client.put(f"{API}/users/ada/bell", headers=fan.headers).status_code == 204
        plat.client.put(f"{API}/users/ada/follow", headers=fan.headers)
    plat.client.delete(f"{API}/users/ada/bell", headers=fans[0].headers)
    assert plat.client.put(f"{API}/users/nobody/bell", headers=fans[0].headers).status_code == 404
    first = post(plat, ada, text="news")
    post(plat, ada, text="a reply is not news", reply_to=first)
    drain(plat)
    assert inbox(plat, fans[0].headers) == []
    for fan in fans[1:]:
        (item,) = inbox(plat, fan.headers)
        assert item["type"] == "new_post" and item["subject"]["id"] == first and item["text"] == "ada posted"
    with plat.services.db.session() as session:
        batches = session.scalar(sa.select(sa.func.count()).where(Job.kind == "notifications.fanout"))
    assert batches == 3  # four bells in batches of two, and the empty batch that ends it
    streams = StreamService(plat.services.db, events=plat.services.events)
    view, _ = streams.create(ada.id, "Live now")
    streams.record_state(view.id, "live")
    streams.record_state(view.id, "live")  # already live: no second notification
    drain(plat)
    for fan in fans:
        assert types(inbox(plat, fan.headers))[0] == "live"
        assert types(inbox(plat, fan.headers)).count("live") == 1


def test_video_claims_payments_and_retention(plat: Platform) -> None:
    ada, bob = member(plat, "ada"), member(plat, "bob")
    plat.client.put(f"{API}/users/ada/bell", headers=bob.headers)
    video_id = ready_video(plat, ada)
    with plat.services.db.session() as session:
        video = session.get(Video, video_id)
        assert video is not None
        video.status, video.published_at = "processing", None
    plat.services.videos.finished(
        video_id, renditions=[], outputs={"hls": "x.m3u8"}, duration=1.0, warnings=[]
    )
    plat.services.videos.finished(
        video_id, renditions=[], outputs={"hls": "x.m3u8"}, duration=1.0, warnings=[]
    )
    drain(plat)
    failing = ready_video(plat, ada)
    with plat.services.db.session() as session:
        plat.services.videos.failed(session, failing, "The file has no video stream.")
    drain(plat)
    plat.services.events.publish(
        TipReceived(ada.id, bob.id, "tip", 500, "eur", "pi_1", tip_id="t1", message="thanks for the video")
    )
    drain(plat)
    plat.services.events.publish(
        ModerationAction("case1", ada.id, "video", failing, "restrict", "Age-restricted: graphic scenes.")
    )
    drain(plat)
    items = inbox(plat, ada.headers)
    assert types(items) == ["moderation", "tip", "video_failed", "video_ready"]
    assert items[0]["data"]["action"] == "restrict" and items[0]["data"]["case_id"] == "case1"
    assert items[0]["data"]["reason"] == "Age-restricted: graphic scenes."
    assert items[1]["data"] == {"amount": 500, "currency": "eur", "message": "thanks for the video"}
    assert items[1]["text"] == "bob sent you a tip"
    assert items[2]["data"]["reason"] == "The file has no video stream."
    assert types(inbox(plat, bob.headers)) == ["new_video"]
    with plat.services.db.session() as session:
        session.execute(sa.update(Notification).values(created_at=utcnow() - timedelta(days=100)))
    assert plat.services.notifications.service.sweep(90 * 24 * 3600) == 5
    assert inbox(plat, ada.headers) == []


class _Published(MemoryPubSub):
    """A pub/sub that keeps what is published (the ingest's messages to the WebSockets)."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[dict] = []

    def publish(self, channel: str, message: str) -> None:
        self.messages.append(json.loads(message))


def test_one_batch_on_one_group_makes_one_row_and_one_message(plat: Platform) -> None:
    """Items of one ingest batch on one group (a burst of likes) make one row, which replaces the
    unread group there was and carries every actor; an actor already in it adds nothing; the row
    is placed where the last of them was, after the batch's other rows for that person; a hidden
    actor is neither stored nor named."""
    ada, bob, cyd, dee, eve, fay = (member(plat, n) for n in ("ada", "bob", "cyd", "dee", "eve", "fay"))
    first = post(plat, ada)
    plat.client.put(f"{API}/posts/{first}/like", headers=bob.headers)
    drain(plat)
    (group,) = inbox(plat, ada.headers)
    assert plat.client.put(f"{API}/users/fay/block", headers=ada.headers).status_code in (200, 204)
    published = _Published()
    service = NotificationService(plat.services.db, published, lambda *a, **k: None)

    def like(actor: Member) -> dict:
        return {"user": ada.id, "type": "like", "actor": actor.id, "subject": ["post", first]}

    follow = {"user": ada.id, "type": "follow", "actor": cyd.id, "subject": ["user", ada.id]}
    made = service.ingest([like(cyd), like(bob), follow, like(fay), like(dee), like(eve)])
    (follow_id, _, none), (like_id, _, replaced) = made.notifications
    assert none is None and replaced == group["id"] and group["id"] < follow_id < like_id
    assert [(m["notification"]["id"], m["replaces"], m["unread"]) for m in published.messages] == [
        (follow_id, None, 2),
        (like_id, group["id"], 2),
    ]
    assert published.messages[1]["notification"]["text"] == "eve and 3 others liked your post"
    items = inbox(plat, ada.headers)
    expected = [(like_id, "like", 4), (follow_id, "follow", 1)]
    assert [(i["id"], i["type"], i["count"]) for i in items] == expected
    assert [a["username"] for a in items[0]["actors"]] == ["eve", "dee", "cyd"]
    with plat.services.db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 2
    # the same actors again, in a later batch: nothing new
    assert service.ingest([like(dee), like(bob)]).notifications == []
