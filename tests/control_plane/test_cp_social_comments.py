"""Comments on videos through the API on both backends: threads one level deep, sorting,
who may delete, private videos, blocks, held comments and the hourly limit."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from support.platform import Platform, embedded
from support.social import Member, assert_counts_match_rows, member, ready_video, video_counts

from control_plane.core import migrate
from control_plane.core.db import Database
from control_plane.social.events import CommentWritten
from control_plane.videos.models import Video

API = "/api/v1"


def comment(platform: Platform, who: Member, video: str, text: str, parent: str | None = None) -> dict:
    body = {"text": text} if parent is None else {"text": text, "parent_id": parent}
    r = platform.client.post(f"{API}/videos/{video}/comments", json=body, headers=who.headers)
    assert r.status_code == 201, r.text
    return r.json()


def texts(platform: Platform, path: str, headers: dict[str, str] | None = None) -> list[str]:
    r = platform.client.get(path, headers=headers or {})
    assert r.status_code == 200, r.text
    return [c["text"] for c in r.json()["items"]]


def test_threads_sorting_and_deleting(both: Platform) -> None:
    owner, ada, bob = (member(both, n) for n in ("owner", "ada", "bob"))
    mod = member(both, "mod", role="moderator")
    video = ready_video(both, owner)
    seen: list[CommentWritten] = []
    both.services.events.subscribe(CommentWritten, seen.append)
    first = comment(both, ada, video, "first <i>!</i>")
    second = comment(both, bob, video, "second")
    reply = comment(both, bob, video, "a reply", first["id"])
    deeper = comment(both, owner, video, "a reply to the reply", reply["id"])
    assert deeper["parent_id"] == first["id"]  # one level: it joins the top comment's thread
    assert seen[-1] == CommentWritten(
        comment_id=deeper["id"],
        video_id=video,
        video_owner_id=owner.id,
        author_id=owner.id,
        parent_id=first["id"],
        parent_author_id=ada.id,
    )
    assert texts(both, f"{API}/videos/{video}/comments") == ["second", "first <i>!</i>"]  # anonymous, new
    assert texts(both, f"{API}/comments/{first['id']}/replies") == ["a reply", "a reply to the reply"]
    for who in (owner, bob):
        assert both.client.put(f"{API}/comments/{first['id']}/like", headers=who.headers).status_code == 204
    assert texts(both, f"{API}/videos/{video}/comments?sort=top") == ["first <i>!</i>", "second"]
    top = both.client.get(f"{API}/videos/{video}/comments?sort=top").json()["items"][0]
    assert (top["likes"], top["replies"]) == (2, 2)
    assert video_counts(both, video)["comments"] == 4

    r = both.client.delete(f"{API}/comments/{second['id']}", headers=ada.headers)
    assert r.status_code == 403 and r.json()["code"] == "NOT_VIDEO_OWNER"
    assert (
        both.client.delete(f"{API}/comments/{reply['id']}", headers=bob.headers).status_code == 204
    )  # author
    assert both.client.delete(f"{API}/comments/{second['id']}", headers=mod.headers).status_code == 204
    assert both.client.get(f"{API}/videos/{video}/comments").json()["items"][0]["replies"] == 1
    assert both.client.delete(f"{API}/comments/{first['id']}", headers=owner.headers).status_code == 204
    assert texts(both, f"{API}/videos/{video}/comments") == []
    assert (
        both.client.get(f"{API}/comments/{deeper['id']}/replies").status_code == 404
    )  # went with its thread
    assert video_counts(both, video)["comments"] == 0
    assert_counts_match_rows(both)


def test_private_videos_blocks_and_bad_input(both: Platform) -> None:
    owner, ada = member(both, "owner"), member(both, "ada")
    private = ready_video(both, owner, visibility="private")
    public = ready_video(both, owner)
    for method, path in (("GET", f"/videos/{private}/comments"), ("POST", f"/videos/{private}/comments")):
        r = both.client.request(method, API + path, json={"text": "hi"}, headers=ada.headers)
        assert r.status_code == 404 and r.json()["code"] == "VIDEO_NOT_FOUND"
    assert comment(both, owner, private, "my own")["status"] == "visible"
    assert both.client.post(f"{API}/videos/{public}/comments", json={"text": "anon"}).status_code == 401
    for body in ({"text": ""}, {"text": "x" * 2001}, {"text": "\x00"}, {"text": "hi", "parent_id": "zz"}):
        assert (
            both.client.post(f"{API}/videos/{public}/comments", json=body, headers=ada.headers).status_code
            == 422
        )
    other = comment(both, owner, private, "on another video")
    r = both.client.post(
        f"{API}/videos/{public}/comments",
        json={"text": "hi", "parent_id": other["id"]},
        headers=owner.headers,
    )
    assert r.status_code == 404 and r.json()["code"] == "COMMENT_NOT_FOUND"

    mine = comment(both, ada, public, "before the block")
    assert both.client.put(f"{API}/users/ada/block", headers=owner.headers).status_code == 204
    assert (
        both.client.post(
            f"{API}/videos/{public}/comments", json={"text": "x"}, headers=ada.headers
        ).status_code
        == 404
    )
    assert texts(both, f"{API}/videos/{public}/comments", owner.headers) == []
    assert texts(both, f"{API}/videos/{public}/comments") == ["before the block"]
    assert both.client.delete(f"{API}/comments/{mine['id']}", headers=owner.headers).status_code == 204


def test_held_comments_wait_for_the_owner(both: Platform) -> None:
    owner, ada = member(both, "owner"), member(both, "ada")
    video = ready_video(both, owner)
    with both.services.db.session() as session:
        session.get(Video, video).comment_policy = "held"  # type: ignore[union-attr]
    held = comment(both, ada, video, "please approve")
    assert held["status"] == "held"
    assert texts(both, f"{API}/videos/{video}/comments") == []
    # its author sees it in its place, marked held (sorted by likes too); nobody else does
    bob = member(both, "bob")
    for sort in ("new", "top"):
        mine = both.client.get(f"{API}/videos/{video}/comments?sort={sort}", headers=ada.headers).json()
        assert [(c["id"], c["status"]) for c in mine["items"]] == [(held["id"], "held")]
    assert texts(both, f"{API}/videos/{video}/comments", bob.headers) == []
    assert texts(both, f"{API}/videos/{video}/comments", owner.headers) == []  # the owner: ?held=true
    assert texts(both, f"{API}/videos/{video}/comments?held=true", owner.headers) == ["please approve"]
    assert both.client.get(f"{API}/videos/{video}/comments?held=true", headers=ada.headers).status_code == 403
    assert video_counts(both, video)["comments"] == 0
    assert both.client.post(f"{API}/comments/{held['id']}/approve", headers=ada.headers).status_code == 403
    assert (
        both.client.post(f"{API}/comments/{held['id']}/approve", headers=owner.headers).json()["status"]
        == "visible"
    )
    assert texts(both, f"{API}/videos/{video}/comments") == ["please approve"]
    assert video_counts(both, video)["comments"] == 1
    with both.services.db.session() as session:
        session.get(Video, video).comment_policy = "disabled"  # type: ignore[union-attr]
    r = both.client.post(f"{API}/videos/{video}/comments", json={"text": "no"}, headers=ada.headers)
    assert r.status_code == 403 and r.json()["code"] == "COMMENTS_DISABLED"


def test_commenting_is_rate_limited(tmp_path: Path, platform_factory) -> None:  # type: ignore[no-untyped-def]
    platform = platform_factory(embedded(tmp_path, comment_rate_per_hour=2), inprocess_workers=False)
    ada = member(platform, "ada")
    video = ready_video(platform, ada)
    for i in range(2):
        comment(platform, ada, video, f"comment {i}")
    r = platform.client.post(f"{API}/videos/{video}/comments", json={"text": "more"}, headers=ada.headers)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_postgres_plans_a_comment_page_for_its_video(postgres_url: str) -> None:
    """After psycopg has prepared the page's statement (five runs), PostgreSQL still plans it for
    the video asked (``plan_cache_mode``, set on every connection), not for an average one: a
    plan for "a video" would sort every comment of the busiest video."""
    db = Database(postgres_url)
    migrate.upgrade(db)
    with db.session() as session:
        assert session.execute(sa.text("SHOW plan_cache_mode")).scalar() == "force_custom_plan"
        query = sa.text(
            "SELECT id FROM comments WHERE video_id = :v AND parent_id IS NULL AND status = :s "
            "ORDER BY created_at DESC, id DESC LIMIT 20"
        )
        for _ in range(8):
            session.execute(query, {"v": "x" * 32, "s": "visible"}).all()
        plans = session.execute(
            sa.text(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                "WHERE statement LIKE '%comments%'"
            )
        ).all()
    db.dispose()
    assert plans and all(generic == 0 for generic, _ in plans), plans
