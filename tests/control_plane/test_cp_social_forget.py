"""An account leaving the social domain (``Social.forget_user``, called before the account's row
is deleted) leaves every other account's counts equal to their rows."""

from __future__ import annotations

import sqlalchemy as sa
from support.platform import Platform
from support.social import assert_counts_match_rows, member, ready_video

from control_plane.accounts.models import User
from control_plane.social.models import Post

API = "/api/v1"


def test_forgetting_an_account_keeps_everyone_elses_counts(both: Platform) -> None:
    ada, bob, cyd = (member(both, n) for n in ("ada", "bob", "cyd"))
    c = both.client

    def ok(method: str, path: str, **body: object) -> dict:
        who = body.pop("who")
        r = c.request(method, API + path, json=body or None, headers=who.headers)  # type: ignore[attr-defined]
        assert r.status_code in (200, 201, 204), r.text
        return r.json() if r.content else {}

    ok("PUT", "/users/bob/follow", who=ada)
    ok("PUT", "/users/ada/follow", who=cyd)
    ok("PUT", "/users/ada/follow", who=bob)
    mine = ok("POST", "/posts", text="ada's #thoughts", who=ada)
    ok("POST", "/posts", repost_of=mine["id"], who=bob)
    ok("PUT", f"/posts/{mine['id']}/like", who=cyd)
    bobs = ok("POST", "/posts", text="bob's post", who=bob)
    ok("POST", "/posts", text="ada answers", reply_to=bobs["id"], who=ada)
    ok("POST", "/posts", repost_of=bobs["id"], who=ada)
    ok("POST", "/posts", text="ada quotes", quote_of=bobs["id"], who=ada)
    ok("PUT", f"/posts/{bobs['id']}/like", who=ada)
    video = ready_video(both, bob)
    top = ok("POST", f"/videos/{video}/comments", text="ada comments", who=ada)
    ok("POST", f"/videos/{video}/comments", text="bob replies", parent_id=top["id"], who=bob)
    bobs_comment = ok("POST", f"/videos/{video}/comments", text="bob comments", who=bob)
    ok("POST", f"/videos/{video}/comments", text="ada replies", parent_id=bobs_comment["id"], who=ada)
    ok("PUT", f"/comments/{bobs_comment['id']}/like", who=ada)
    ok("PUT", f"/videos/{video}/like", who=ada)
    assert_counts_match_rows(both)

    both.services.social.forget_user(ada.id)
    with both.services.db.session() as session:
        session.execute(sa.delete(User).where(User.id == ada.id))
    assert_counts_match_rows(both)
    stats = both.services.social.graph.counts([bob.id, cyd.id])
    assert stats[bob.id] == {"followers": 0, "following": 0, "posts": 1}
    assert stats[cyd.id]["following"] == 0
    post = c.get(f"{API}/posts/{bobs['id']}").json()
    assert (post["likes"], post["replies"], post["reposts"]) == (0, 0, 0)
    assert both.services.social.likes.video_counts([video])[video] == {"likes": 0, "comments": 1}
    with both.services.db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Post)) == 1
