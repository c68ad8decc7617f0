"""Moderation through the API on both backends: reports into cases ranked by severity, decisions
acting through the owning domains (audited, published to the owner), suspension stopping the
account from acting, appeals, and the automated pre-screening holding a video, a post or a
comment for review (hidden from every list but its author's until a moderator releases it)."""

from __future__ import annotations

import sqlalchemy as sa
from support.platform import Platform
from support.social import member, ready_video

from control_plane.accounts.models import AuditEvent
from control_plane.core.events import Event
from control_plane.http.pagination import PageParams
from control_plane.moderation.events import ContentHeld, ContentReleased, ModerationAction
from control_plane.moderation.screening import Screener, TextScreen
from control_plane.social.trends import TrendService
from control_plane.videos.models import Video

API = "/api/v1"


def report(platform: Platform, who, subject_type: str, subject_id: str, reason: str = "spam"):  # type: ignore[no-untyped-def]
    return platform.client.post(
        f"{API}/reports",
        json={"subject_type": subject_type, "subject_id": subject_id, "reason": reason},
        headers=who.headers,
    )


def recorder(platform: Platform) -> list[Event]:
    seen: list[Event] = []
    platform.services.events.subscribe(Event, seen.append)
    return seen


def test_reports_make_cases_ranked_by_severity(both: Platform) -> None:
    ada = member(both, "ada")
    mod = member(both, "mod", role="moderator")
    reporters = [member(both, f"rep{i}") for i in range(3)]
    quiet, loud = ready_video(both, ada), ready_video(both, ada)
    with both.services.db.session() as session:
        session.get(Video, loud).views = 100_000  # type: ignore[union-attr]
    post = both.client.post(f"{API}/posts", json={"text": "buy now"}, headers=ada.headers).json()["id"]
    r = report(both, reporters[0], "video", quiet)
    assert r.status_code == 201, r.text
    assert report(both, reporters[0], "video", quiet).json()["code"] == "ALREADY_REPORTED"
    for who in reporters:
        assert report(both, who, "video", loud, "hate").status_code == 201
    assert report(both, reporters[1], "post", post, "harassment").status_code == 201
    assert report(both, ada, "video", quiet).json()["code"] == "CANNOT_REPORT_OWN"
    assert report(both, reporters[0], "video", "0" * 32).status_code == 404
    private = ready_video(both, ada, visibility="private")
    assert report(both, reporters[0], "video", private).status_code == 404
    assert both.client.get(f"{API}/moderation/queue", headers=reporters[0].headers).status_code == 403
    queue = both.client.get(f"{API}/moderation/queue", headers=mod.headers).json()["items"]
    assert [(c["subject_id"], c["reporters"]) for c in queue] == [(loud, 3), (post, 1), (quiet, 1)]
    # hate (3) x trust (1/2) x reach (1 + log10(100001)) x 3 reporters
    assert queue[0]["severity"] == 3 * 0.5 * 6.0 * 3 and queue[0]["reason"] == "hate"
    assert queue[1]["severity"] == 2 * 0.5 * 1.0 * 1 and queue[2]["severity"] == 1 * 0.5 * 1.0 * 1
    page = both.client.get(f"{API}/moderation/queue?limit=2", headers=mod.headers).json()
    rest = both.client.get(
        f"{API}/moderation/queue?limit=2&cursor={page['next_cursor']}", headers=mod.headers
    ).json()
    assert [c["subject_id"] for c in page["items"] + rest["items"]] == [loud, post, quiet]


def test_decisions_act_through_the_owning_domains_and_are_audited(both: Platform) -> None:
    ada, bob = member(both, "ada"), member(both, "bob")
    mod = member(both, "mod", role="moderator")
    seen = recorder(both)
    removed, restricted, demonetized = (ready_video(both, ada) for _ in range(3))
    post = both.client.post(f"{API}/posts", json={"text": "spam spam"}, headers=ada.headers).json()["id"]
    ids = {
        s: report(both, bob, t, s).json()["id"]
        for t, s in (("video", removed), ("video", restricted), ("video", demonetized), ("post", post))
    }

    def resolve(subject: str, **body: object):  # type: ignore[no-untyped-def]
        return both.client.post(
            f"{API}/moderation/reports/{ids[subject]}/resolve", json=body, headers=mod.headers
        )

    assert resolve(removed, action="remove", note="spam").json()["action"] == "remove"
    assert both.client.get(f"{API}/videos/{removed}").status_code == 404
    assert resolve(restricted, action="restrict", restriction="age").status_code == 200
    assert both.client.get(f"{API}/videos/{restricted}", headers=ada.headers).json()["age_restricted"] is True
    assert resolve(demonetized, action="restrict", restriction="demonetize").status_code == 200
    assert both.services.moderation.demonetized(demonetized) and not both.services.moderation.demonetized(
        restricted
    )
    assert resolve(post, action="remove").status_code == 200
    assert both.client.get(f"{API}/posts/{post}").status_code == 404
    again = resolve(post, action="dismiss")
    assert again.status_code == 409 and again.json()["code"] == "CASE_RESOLVED"
    assert (
        both.client.post(
            f"{API}/moderation/reports/{ids[restricted]}/resolve",
            json={"action": "dismiss"},
            headers=bob.headers,
        ).status_code
        == 403
    )
    with both.services.db.session() as session:
        kinds = session.scalars(sa.select(AuditEvent.kind).where(AuditEvent.kind.like("moderation.%"))).all()
    assert sorted(kinds) == [
        "moderation.remove",
        "moderation.remove",
        "moderation.restrict",
        "moderation.restrict",
    ]
    actions = [e for e in seen if isinstance(e, ModerationAction)]
    assert {(e.subject_id, e.action) for e in actions} == {
        (removed, "remove"),
        (restricted, "restrict:age"),
        (demonetized, "restrict:demonetize"),
        (post, "remove"),
    }
    assert all(e.owner_id == ada.id and e.appeal_path == "/api/v1/moderation/appeals" for e in actions)


def test_a_suspended_account_stops_acting_and_can_appeal(both: Platform) -> None:
    ada, bob = member(both, "ada"), member(both, "bob")
    mod = member(both, "mod", role="moderator")
    case = report(both, bob, "user", ada.id, "harassment").json()["case_id"]
    r = both.client.post(
        f"{API}/moderation/reports/{case}/resolve",
        json={"action": "suspend", "days": 7, "note": "abuse"},
        headers=mod.headers,
    )
    assert r.status_code == 200 and r.json()["detail"]["until"]
    refused = both.client.post(f"{API}/posts", json={"text": "still here"}, headers=ada.headers)
    assert refused.status_code == 403 and refused.json()["code"] == "ACCOUNT_SUSPENDED"
    assert (
        both.client.put(f"{API}/users/bob/follow", headers=ada.headers).json()["code"] == "ACCOUNT_SUSPENDED"
    )
    stream = both.client.post(f"{API}/live/streams", json={"title": "Talk"}, headers=bob.headers).json()["id"]
    token = ada.headers["Authorization"].removeprefix("Bearer ")
    with both.client.websocket_connect(f"{API}/live/streams/{stream}/chat?access_token={token}") as chat:
        chat.send_json({"type": "message", "text": "hello"})
        assert chat.receive_json()["code"] == "ACCOUNT_SUSPENDED"
    me = both.client.get(f"{API}/users/me", headers=ada.headers).json()
    assert me["suspended_until"] is not None  # reads still work
    appeal = both.client.post(
        f"{API}/moderation/appeals", json={"case_id": case, "text": "it was a joke"}, headers=ada.headers
    )
    assert appeal.status_code == 201, appeal.text
    again = both.client.post(
        f"{API}/moderation/appeals", json={"case_id": case, "text": "again"}, headers=ada.headers
    )
    assert again.json()["code"] == "APPEAL_EXISTS"
    assert (
        both.client.post(
            f"{API}/moderation/appeals", json={"case_id": case, "text": "mine"}, headers=bob.headers
        ).status_code
        == 404
    )
    listed = both.client.get(f"{API}/moderation/appeals", headers=mod.headers).json()["items"]
    assert [a["case_id"] for a in listed] == [case]
    decided = both.client.post(
        f"{API}/moderation/appeals/{appeal.json()['id']}/decide",
        json={"decision": "reverse"},
        headers=mod.headers,
    )
    assert decided.json()["status"] == "reversed"
    assert both.client.post(f"{API}/posts", json={"text": "back"}, headers=ada.headers).status_code == 201
    assert (
        both.client.get(f"{API}/moderation/appeals", headers=ada.headers).json()["items"][0]["status"]
        == "reversed"
    )


def test_screening_holds_a_video_until_a_moderator_decides(both: Platform) -> None:
    ada, bob = member(both, "ada"), member(both, "bob")
    mod = member(both, "mod", role="moderator")
    video = ready_video(both, ada, title="Cooking with friends")
    bad = ready_video(both, ada, title="You are a fucking idiot")
    with both.services.db.session() as session:
        session.get(Video, bad).outputs = {"hls": "hls/master.m3u8"}  # type: ignore[union-attr]  # transcoded
    both.client.post(f"{API}/posts", json={"text": "Lovely weather for a walk"}, headers=bob.headers)
    both.client.post(f"{API}/posts", json={"text": "Buy grumblecoin today"}, headers=bob.headers)
    screener = Screener(
        both.services.db,
        both.services.videos,
        TextScreen(["grumblecoin"], threshold=0.9),
        both.services.social.holds,
    )
    assert screener.run() == {"posts": 1, "comments": 0, "videos": 1}
    assert screener.run() == {"posts": 0, "comments": 0, "videos": 0}  # nothing new since
    assert both.client.get(f"{API}/videos/{bad}", headers=ada.headers).json()["status"] == "blocked"
    assert both.client.get(f"{API}/videos/{video}").json()["status"] == "ready"
    assert both.client.get(f"{API}/videos/{bad}").status_code == 404  # held: out of public reach
    queue = both.client.get(f"{API}/moderation/queue", headers=mod.headers).json()["items"]
    held = next(c for c in queue if c["subject_id"] == bad)
    assert held["held"] and held["source"] == "screening" and held["detail"]["screening"]["classifier"] > 0.9
    words = next(c for c in queue if c["subject_type"] == "post")
    assert words["detail"]["screening"]["words"] == ["grumblecoin"]
    r = both.client.post(
        f"{API}/moderation/reports/{held['id']}/resolve", json={"action": "dismiss"}, headers=mod.headers
    )
    assert r.status_code == 200
    assert both.client.get(f"{API}/videos/{bad}").json()["status"] == "ready"


def test_screening_holds_posts_and_comments_from_every_list_until_released(both: Platform) -> None:
    ada, bob, cyd = member(both, "ada"), member(both, "bob"), member(both, "cyd")
    mod = member(both, "mod", role="moderator")
    video = ready_video(both, cyd, title="Harbour walk")
    for who in (ada, cyd):
        assert both.client.put(f"{API}/users/bob/follow", headers=who.headers).status_code == 204
    assert both.client.put(f"{API}/users/ada/follow", headers=cyd.headers).status_code == 204

    def write(who, text: str, **refs: str) -> str:  # type: ignore[no-untyped-def]
        r = both.client.post(f"{API}/posts", json={"text": text, **refs}, headers=who.headers)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    fine = write(bob, "Lovely weather for a #harbour walk")
    spam = write(bob, "Buy grumblecoin today #harbour #coinrush @cyd")
    write(ada, "", repost_of=spam)
    write(mod, "Off to the #coinrush meetup")  # a second account on the held post's tag
    r = both.client.post(
        f"{API}/videos/{video}/comments", json={"text": "grumblecoin to the moon"}, headers=ada.headers
    )
    assert r.status_code == 201
    comment = r.json()["id"]
    kind = both.client.post(f"{API}/videos/{video}/comments", json={"text": "Nice view"}, headers=bob.headers)
    assert kind.status_code == 201
    r = both.client.post(
        f"{API}/videos/{video}/comments",
        json={"text": "grumblecoin, bob", "parent_id": kind.json()["id"]},
        headers=ada.headers,
    )
    assert r.status_code == 201
    reply = r.json()["id"]
    heard: list[object] = []
    both.services.events.subscribe(ContentHeld, heard.append)
    screener = Screener(
        both.services.db,
        both.services.videos,
        TextScreen(["grumblecoin"], threshold=0.9),
        both.services.social.holds,
        both.services.events,
    )
    assert screener.run() == {"posts": 1, "comments": 2, "videos": 0}
    # The notifications domain hears of each hold (and withdraws what they told: the intake test).
    assert sorted(heard, key=str) == sorted(
        [ContentHeld("comment", comment), ContentHeld("comment", reply), ContentHeld("post", spam)], key=str
    )

    def lists(who) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
        headers = who.headers if who else {}

        def ids(path: str, key: str = "id") -> list[str]:
            r = both.client.get(path, headers=headers)
            assert r.status_code == 200, r.text
            return [item[key] for item in r.json()["items"]]

        out = {
            "profile": ids(f"{API}/users/bob/posts"),
            "hashtag": ids(f"{API}/hashtags/harbour/posts"),
            "search": ids(f"{API}/search?q=grumblecoin&type=posts"),
            "comments": ids(f"{API}/videos/{video}/comments"),
            "reposts": [
                p["repost_of"]
                for p in both.client.get(f"{API}/users/ada/posts", headers=headers).json()["items"]
            ],
        }
        if who is not None:
            feed = both.client.get(f"{API}/feed", headers=headers).json()["items"]
            out["feed"] = [e["post"]["id"] for e in feed if e["kind"] == "post"]
        return out

    for who in (cyd, None):  # a follower and the video's owner; anyone
        held = lists(who)
        assert spam not in held["profile"] and spam not in held["hashtag"] and fine in held["hashtag"]
        assert held["search"] == [] and held["reposts"] == []
        assert comment not in held["comments"] and len(held["comments"]) == 1
        assert who is None or held["feed"] == [fine]

    def tag_count() -> int:
        r = both.client.get(f"{API}/search", params={"q": "harbour", "type": "hashtags"})
        return int(r.json()["items"][0]["posts"])

    assert tag_count() == 1  # the held post's tag is not counted while it is held
    trends = TrendService(both.services.db, min_accounts=1, half_life=3600)

    def trending() -> list[str]:
        trends.recompute()
        return sorted(t.tag for t in trends.trending(PageParams())[0])

    assert trending() == []  # nor in the trends: one account (mod) used #coinrush, as the day before
    assert both.client.get(f"{API}/posts/{spam}", headers=cyd.headers).status_code == 404
    assert both.client.get(f"{API}/posts/{spam}").status_code == 404
    assert both.client.get(f"{API}/videos/{video}").json()["comments"] == 1  # counted only when shown
    mine = lists(bob)  # the author sees their held post
    assert spam in mine["profile"] and mine["search"] == [spam]
    shown = both.client.get(f"{API}/users/bob/posts", headers=bob.headers).json()["items"]
    assert {p["id"]: p["held"] for p in shown} == {spam: True, fine: False}  # marked as held
    assert both.client.get(f"{API}/posts/{spam}", headers=bob.headers).json()["held"] is True
    # the author of a screened comment sees it in its place, marked; nobody else does
    theirs = both.client.get(f"{API}/videos/{video}/comments", headers=ada.headers).json()["items"]
    assert [(c["id"], c["status"]) for c in theirs] == [(kind.json()["id"], "visible"), (comment, "screened")]
    thread = f"{API}/comments/{kind.json()['id']}/replies"
    assert [c["status"] for c in both.client.get(thread, headers=ada.headers).json()["items"]] == ["screened"]
    for who in (bob, cyd, None):
        headers = who.headers if who else {}
        assert both.client.get(thread, headers=headers).json()["items"] == []
        assert comment not in [
            c["id"]
            for c in both.client.get(f"{API}/videos/{video}/comments", headers=headers).json()["items"]
        ]
    owners = both.client.get(f"{API}/videos/{video}/comments", headers=cyd.headers).json()["items"]
    assert [c["replies"] for c in owners] == [0]  # the screened reply is not counted
    # a page at a time, the author's screened comment keeps its place among the visible ones
    page = both.client.get(f"{API}/videos/{video}/comments?limit=1", headers=ada.headers).json()
    assert [c["id"] for c in page["items"]] == [kind.json()["id"]] and page["next_cursor"]
    rest = both.client.get(
        f"{API}/videos/{video}/comments",
        params={"limit": 1, "cursor": page["next_cursor"]},
        headers=ada.headers,
    ).json()
    assert [c["id"] for c in rest["items"]] == [comment] and rest["next_cursor"] is None
    assert both.client.get(f"{API}/posts/{spam}", headers=bob.headers).status_code == 200
    assert both.client.get(f"{API}/posts/{spam}", headers=mod.headers).status_code == 200

    queue = both.client.get(f"{API}/moderation/queue", headers=mod.headers).json()["items"]
    cases = {c["subject_id"]: c for c in queue if c["source"] == "screening"}
    assert set(cases) == {spam, comment, reply} and all(c["held"] for c in cases.values())
    for case in cases.values():
        r = both.client.post(
            f"{API}/moderation/reports/{case['id']}/resolve", json={"action": "dismiss"}, headers=mod.headers
        )
        assert r.status_code == 200, r.text
    released = lists(cyd)
    assert spam in released["profile"] and spam in released["hashtag"] and released["search"] == [spam]
    assert released["reposts"] == [spam] and comment in released["comments"]
    assert both.client.get(f"{API}/posts/{spam}", headers=cyd.headers).json()["held"] is False
    assert [c["id"] for c in both.client.get(thread, headers=cyd.headers).json()["items"]] == [reply]
    assert released["feed"].count(spam) == 1  # once, though bob posted it and ada reposted it
    assert both.client.get(f"{API}/videos/{video}").json()["comments"] == 3
    assert tag_count() == 2 and trending() == ["coinrush"]
    # a held post that its author deletes leaves its tag's count once (when held), not twice
    spam2 = write(bob, "More grumblecoin #harbour")
    assert screener.run()["posts"] == 1 and tag_count() == 2
    assert both.client.delete(f"{API}/posts/{spam2}", headers=bob.headers).status_code == 204
    assert tag_count() == 2


def test_suspending_the_author_of_held_content_keeps_it_held(both: Platform) -> None:
    bob, cyd = member(both, "bob"), member(both, "cyd")
    mod = member(both, "mod", role="moderator")
    assert both.client.put(f"{API}/users/bob/follow", headers=cyd.headers).status_code == 204
    r = both.client.post(f"{API}/posts", json={"text": "Buy grumblecoin @cyd"}, headers=bob.headers)
    assert r.status_code == 201
    spam = r.json()["id"]
    screener = Screener(
        both.services.db,
        both.services.videos,
        TextScreen(["grumblecoin"], threshold=0.9),
        both.services.social.holds,
        both.services.events,
    )
    assert screener.run()["posts"] == 1
    released: list[object] = []
    both.services.events.subscribe(ContentReleased, released.append)
    case = next(
        c
        for c in both.client.get(f"{API}/moderation/queue", headers=mod.headers).json()["items"]
        if c["subject_id"] == spam
    )
    r = both.client.post(
        f"{API}/moderation/reports/{case['id']}/resolve",
        json={"action": "suspend", "days": 7},
        headers=mod.headers,
    )
    assert r.status_code == 200, r.text
    assert released == []  # nothing told on the suspended author's behalf
    assert both.client.get(f"{API}/posts/{spam}", headers=cyd.headers).status_code == 404
    assert both.client.get(f"{API}/posts/{spam}", headers=bob.headers).json()["held"] is True
