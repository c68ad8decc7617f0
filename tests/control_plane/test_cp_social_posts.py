"""Posts through the API on both backends: writing, reading, threads, reposts and quotes,
deleting, hashtags and mentions, blocks, the rules on bad input and the hourly limit."""

from __future__ import annotations

from pathlib import Path

from support.platform import Platform, embedded
from support.social import Member, assert_counts_match_rows, member, ready_video, user_counts

from control_plane.core.events import Event
from control_plane.social.events import PostCreated, PostDeleted
from control_plane.social.models import Post

API = "/api/v1"


def post(platform: Platform, who: Member, **body: object) -> dict:
    r = platform.client.post(f"{API}/posts", json=body, headers=who.headers)
    assert r.status_code == 201, r.text
    return r.json()


def ids(platform: Platform, path: str, headers: dict[str, str] | None = None) -> list[str]:
    r = platform.client.get(path, headers=headers or {})
    assert r.status_code == 200, r.text
    return [item["id"] for item in r.json()["items"]]


def test_a_post_with_tags_mentions_and_a_video(both: Platform) -> None:
    ada, bob = member(both, "ada"), member(both, "bob")
    video = ready_video(both, ada, title="First light")
    seen: list[Event] = []
    both.services.events.subscribe(PostCreated, seen.append)
    text = "<b>Hello</b> #Café @bob see https://example.com/#anchor and ada@example.com"
    p = post(both, ada, text=text, video_id=video)
    assert p["text"] == text  # HTML is text, stored and returned as sent
    assert p["author"] == {"id": ada.id, "username": "ada"}
    assert p["hashtags"] == ["Café"] and p["mentions"] == ["bob"]
    assert p["video"] == {"id": video, "title": "First light"}
    assert (p["likes"], p["reposts"], p["replies"]) == (0, 0, 0)
    assert seen == [
        PostCreated(
            post_id=p["id"], author_id=ada.id, hashtags=("café",), mentioned_ids=(bob.id,), video_id=video
        )
    ]
    assert both.client.get(f"{API}/posts/{p['id']}").json() == p  # anonymous
    assert ids(both, f"{API}/users/ada/posts") == [p["id"]]
    for spelling in ("café", "CAFÉ", "%23cafe%CC%81"):
        assert ids(both, f"{API}/hashtags/{spelling}/posts") == [p["id"]]
    assert user_counts(both, "ada")["posts"] == 1


def test_threads_reposts_quotes_and_deleting(both: Platform) -> None:
    ada, bob, cyd = (member(both, n) for n in ("ada", "bob", "cyd"))
    mod = member(both, "mod", role="moderator")
    root = post(both, ada, text="root")
    reply = post(both, bob, text="a reply", reply_to=root["id"])
    repost = post(both, cyd, repost_of=root["id"])
    assert repost["text"] == "" and repost["repost_of"] == root["id"]
    # A reply to, or repost of, a repost is one of the original.
    assert post(both, bob, text="to the repost", reply_to=repost["id"])["reply_to"] == root["id"]
    r = both.client.post(f"{API}/posts", json={"repost_of": repost["id"]}, headers=cyd.headers)
    assert r.status_code == 409 and r.json()["code"] == "ALREADY_REPOSTED"
    quote = post(both, bob, text="look at this", quote_of=root["id"])
    got = both.client.get(f"{API}/posts/{root['id']}").json()
    assert (got["replies"], got["reposts"]) == (2, 1)
    assert ids(both, f"{API}/posts/{root['id']}/replies")[0] == reply["id"]  # oldest first
    assert both.client.put(f"{API}/posts/{root['id']}/like", headers=bob.headers).status_code == 204
    assert both.client.put(f"{API}/posts/{repost['id']}/like", headers=cyd.headers).status_code == 204
    assert (
        both.client.get(f"{API}/posts/{root['id']}").json()["likes"] == 2
    )  # a repost's like is the original's

    r = both.client.delete(f"{API}/posts/{root['id']}", headers=bob.headers)
    assert r.status_code == 403 and r.json()["code"] == "NOT_AUTHOR"
    gone: list[Event] = []
    both.services.events.subscribe(PostDeleted, gone.append)
    assert both.client.delete(f"{API}/posts/{root['id']}", headers=ada.headers).status_code == 204
    assert gone == [PostDeleted(post_id=root["id"], author_id=ada.id, reposts=(repost["id"],))]
    assert both.client.get(f"{API}/posts/{root['id']}").status_code == 404
    assert both.client.get(f"{API}/posts/{repost['id']}").status_code == 404
    assert ids(both, f"{API}/users/cyd/posts") == []  # the repost left every list
    assert both.client.get(f"{API}/posts/{reply['id']}").json()["reply_to"] is None
    assert both.client.get(f"{API}/posts/{quote['id']}").json()["quote_of"] is None
    assert user_counts(both, "ada")["posts"] == 0 and user_counts(both, "cyd")["posts"] == 0
    with both.services.db.session() as session:
        assert session.query(Post).filter(Post.repost_of == root["id"]).count() == 0
    assert both.client.delete(f"{API}/posts/{quote['id']}", headers=mod.headers).status_code == 204
    assert_counts_match_rows(both)


def test_bad_posts_are_refused_and_change_nothing(both: Platform) -> None:
    ada, bob = member(both, "ada"), member(both, "bob")
    private = ready_video(both, bob, visibility="private")
    root = post(both, ada, text="root")
    cases = [
        ({"text": "x" * 501}, 422, "VALIDATION_FAILED"),
        ({"text": "   "}, 422, "EMPTY_POST"),
        ({"text": "a\x00b"}, 422, "VALIDATION_FAILED"),
        ({"text": "hi", "surprise": 1}, 422, "VALIDATION_FAILED"),
        ({"text": " ".join(f"#t{i}" for i in range(11))}, 422, "TOO_MANY_TAGS"),
        ({"text": "both", "reply_to": root["id"], "quote_of": root["id"]}, 422, "ONE_REFERENCE"),
        ({"text": "words", "repost_of": root["id"]}, 422, "REPOST_HAS_TEXT"),
        ({"text": "mine?", "video_id": private}, 404, "VIDEO_NOT_FOUND"),
        ({"text": "to nothing", "reply_to": "0" * 32}, 404, "POST_NOT_FOUND"),
        ({"text": "bad id", "reply_to": "not-an-id"}, 422, "VALIDATION_FAILED"),
    ]
    for body, status, code in cases:
        r = both.client.post(f"{API}/posts", json=body, headers=ada.headers)
        assert (r.status_code, r.json()["code"]) == (status, code), body
    assert both.client.post(f"{API}/posts", json={"text": "anon"}).status_code == 401
    assert ids(both, f"{API}/users/ada/posts") == [root["id"]]
    assert both.client.get(f"{API}/posts/{root['id']}").json()["replies"] == 0
    assert post(both, ada, text="é" * 500)["text"] == "é" * 500  # 500 characters, not bytes


def test_blocks_hide_posts_and_mentions_reach_no_blocked_account(both: Platform) -> None:
    ada, bob, cyd = (member(both, n) for n in ("ada", "bob", "cyd"))
    bobs = post(both, bob, text="bob speaks #news")
    cyds_repost = post(both, cyd, repost_of=bobs["id"])
    cyds = post(both, cyd, text="cyd speaks #news")
    assert both.client.put(f"{API}/users/bob/block", headers=ada.headers).status_code == 204
    assert both.client.get(f"{API}/posts/{bobs['id']}", headers=ada.headers).status_code == 404
    assert both.client.get(f"{API}/posts/{bobs['id']}", headers=bob.headers).status_code == 200
    assert ids(both, f"{API}/users/cyd/posts", ada.headers) == [cyds["id"]]  # no repost of bob
    assert ids(both, f"{API}/users/cyd/posts") == [cyds["id"], cyds_repost["id"]]
    assert ids(both, f"{API}/hashtags/news/posts", ada.headers) == [cyds["id"]]
    r = both.client.post(f"{API}/posts", json={"text": "hey", "reply_to": bobs["id"]}, headers=ada.headers)
    assert r.status_code == 404
    assert both.client.put(f"{API}/posts/{bobs['id']}/like", headers=ada.headers).status_code == 404

    seen: list[PostCreated] = []
    both.services.events.subscribe(PostCreated, seen.append)
    p = post(both, ada, text="hello @bob and @cyd")
    assert p["mentions"] == ["bob", "cyd"]
    assert seen[-1].mentioned_ids == (cyd.id,)  # the blocked account is not told

    assert both.client.put(f"{API}/users/cyd/mute", headers=ada.headers).status_code == 204
    assert ids(both, f"{API}/hashtags/news/posts", ada.headers) == []
    assert both.client.get(f"{API}/posts/{cyds['id']}", headers=ada.headers).status_code == 200


def test_posting_is_rate_limited(tmp_path: Path, platform_factory) -> None:  # type: ignore[no-untyped-def]
    platform = platform_factory(embedded(tmp_path, post_rate_per_hour=2), inprocess_workers=False)
    ada = member(platform, "ada")
    for i in range(2):
        post(platform, ada, text=f"post {i}")
    r = platform.client.post(f"{API}/posts", json={"text": "one too many"}, headers=ada.headers)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert len(ids(platform, f"{API}/users/ada/posts")) == 2
