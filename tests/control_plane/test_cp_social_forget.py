"""What of the social domain goes with an account and with a video, on both backends.

Closing an account (``DELETE /users/me``: the account closer, with ``Social.forget_user`` among
its removers) leaves nothing of the account, rows, search documents or blobs, and every other
account's counts equal to their rows. Deleting a video removes its comments, their likes and its
likes through the video's removers.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import sqlalchemy as sa
from PIL import Image
from support.platform import Platform
from support.social import Member, assert_counts_match_rows, member, ready_video, user_counts, video_counts

from control_plane.accounts.models import User
from control_plane.core.db import Base
from control_plane.social.models import Comment, CommentLike, Post, VideoLike

API = "/api/v1"
PASSWORD = "correct horse battery"  # support.social.member's


def call(platform: Platform, who: Member | None, method: str, path: str, **body: object) -> dict:
    headers = who.headers if who else {}
    r = platform.client.request(method, API + path, json=body or None, headers=headers)
    assert r.status_code in (200, 201, 204), r.text
    return r.json() if r.content else {}


def rows_naming(platform: Platform, ids: Iterable[str]) -> dict[str, int]:
    """Rows of any table with one of ``ids`` in a column that references a user or a video, or in
    a search document's ``ref_id``."""
    wanted = list(ids)
    found: dict[str, int] = {}
    with platform.services.db.session() as session:
        for table in Base.metadata.sorted_tables:
            for column in table.c:
                names_one = any(fk.column.table.name in ("users", "videos") for fk in column.foreign_keys)
                if names_one or (table.name == "search_documents" and column.name == "ref_id"):
                    count = session.scalar(sa.select(sa.func.count()).where(column.in_(wanted)))
                    if count:
                        found[f"{table.name}.{column.name}"] = int(count)
    return found


def a_picture() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), "green").save(out, "PNG")
    return out.getvalue()


def test_closing_an_account_takes_it_out_of_the_social_domain(both: Platform) -> None:
    ada, bob, cyd = (member(both, n) for n in ("ada", "bob", "cyd"))
    r = both.client.put(
        f"{API}/users/me/avatar", content=a_picture(), headers={**ada.headers, "Content-Type": "image/png"}
    )
    assert r.status_code == 200, r.text
    call(both, ada, "PUT", "/users/bob/follow")
    call(both, cyd, "PUT", "/users/ada/follow")
    call(both, bob, "PUT", "/users/ada/follow")
    call(both, cyd, "PUT", "/users/bob/follow")
    call(both, ada, "PUT", "/users/cyd/block")
    mine = call(both, ada, "POST", "/posts", text="ada's #thoughts")
    call(both, bob, "POST", "/posts", repost_of=mine["id"])
    call(both, bob, "POST", "/posts", text="answering ada", reply_to=mine["id"])
    call(both, bob, "PUT", f"/posts/{mine['id']}/like")
    bobs = call(both, bob, "POST", "/posts", text="bob's post")
    call(both, ada, "POST", "/posts", text="ada answers", reply_to=bobs["id"])
    call(both, ada, "POST", "/posts", repost_of=bobs["id"])
    call(both, ada, "POST", "/posts", text="ada quotes", quote_of=bobs["id"])
    call(both, ada, "PUT", f"/posts/{bobs['id']}/like")
    video = ready_video(both, bob)
    top = call(both, ada, "POST", f"/videos/{video}/comments", text="ada comments")
    call(both, bob, "POST", f"/videos/{video}/comments", text="bob replies", parent_id=top["id"])
    bobs_comment = call(both, bob, "POST", f"/videos/{video}/comments", text="bob comments")
    call(both, ada, "POST", f"/videos/{video}/comments", text="ada replies", parent_id=bobs_comment["id"])
    call(both, ada, "PUT", f"/comments/{bobs_comment['id']}/like")
    call(both, ada, "PUT", f"/videos/{video}/like")
    call(both, cyd, "PUT", f"/videos/{video}/like")
    adas_video = ready_video(both, ada, title="ada's film")
    call(both, bob, "POST", f"/videos/{adas_video}/comments", text="nice film")
    call(both, bob, "PUT", f"/videos/{adas_video}/like")
    both.services.search.refresh()
    assert user_counts(both, "bob") == {"followers": 2, "following": 1, "posts": 3}
    assert video_counts(both, video) == {"likes": 2, "comments": 4}
    assert_counts_match_rows(both)
    with both.services.db.session() as session:
        adas_posts = session.scalars(sa.select(Post.id).where(Post.author_id == ada.id)).all()
    adas = {ada.id, adas_video, *adas_posts}
    assert "search_documents.ref_id" in rows_naming(both, adas)
    assert any(ada.id in info.key for info in both.services.store.list(""))

    call(both, ada, "DELETE", "/users/me", password=PASSWORD)

    assert_counts_match_rows(both)
    assert user_counts(both, "bob") == {"followers": 1, "following": 0, "posts": 2}
    assert user_counts(both, "cyd") == {"followers": 0, "following": 1, "posts": 0}
    post = call(both, None, "GET", f"/posts/{bobs['id']}")
    assert (post["likes"], post["replies"], post["reposts"]) == (0, 0, 0)
    assert video_counts(both, video) == {"likes": 1, "comments": 1}  # bob's own comment remains
    assert call(both, None, "GET", f"/posts/{bobs['id']}/replies")["items"] == []
    assert rows_naming(both, adas) == {}
    with both.services.db.session() as session:
        assert session.get(User, ada.id) is None
        bobs_texts = sorted(session.scalars(sa.select(Post.text).where(Post.author_id == bob.id)))
    assert bobs_texts == ["answering ada", "bob's post"]  # a reply outlives the post it answered
    assert [info.key for info in both.services.store.list("") if ada.id in info.key] == []


def test_deleting_a_video_removes_its_comments_and_likes(both: Platform) -> None:
    ada, bob = member(both, "ada"), member(both, "bob")
    video, other = ready_video(both, ada, title="gone soon"), ready_video(both, ada, title="stays")
    for target in (video, other):
        top = call(both, bob, "POST", f"/videos/{target}/comments", text="first")
        call(both, ada, "POST", f"/videos/{target}/comments", text="thanks", parent_id=top["id"])
        call(both, ada, "PUT", f"/comments/{top['id']}/like")
        call(both, bob, "PUT", f"/videos/{target}/like")
    showing = call(both, bob, "POST", "/posts", text="watch this", video_id=video)
    both.services.search.refresh()
    assert "search_documents.ref_id" in rows_naming(both, [video])

    call(both, ada, "DELETE", f"/videos/{video}")

    assert rows_naming(both, [video]) == {}
    with both.services.db.session() as session:
        left = {
            model.__tablename__: session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (Comment, CommentLike, VideoLike)
        }
    assert left == {"comments": 2, "comment_likes": 1, "video_likes": 1}  # the other video's
    assert video_counts(both, other) == {"likes": 1, "comments": 2}
    assert call(both, None, "GET", f"/posts/{showing['id']}")["video"] is None  # the post stays
    assert_counts_match_rows(both)
