"""Likes through the API: idempotent, 404 for what the caller cannot see, and counts equal to
their rows when fifty users like and unlike at once over real HTTP connections."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import httpx
import sqlalchemy as sa
from support.platform import Platform, live_server
from support.social import assert_counts_match_rows, member, ready_video, video_counts

from control_plane.social.models import Post, PostLike, VideoLike

API = "/api/v1"


def test_likes_are_idempotent_and_private_things_stay_hidden(both: Platform) -> None:
    ada, bob = member(both, "ada"), member(both, "bob")
    video = ready_video(both, ada)
    private = ready_video(both, ada, visibility="private")
    post = both.client.post(f"{API}/posts", json={"text": "like me"}, headers=ada.headers).json()
    for _ in range(3):
        assert both.client.put(f"{API}/posts/{post['id']}/like", headers=bob.headers).status_code == 204
        assert both.client.put(f"{API}/videos/{video}/like", headers=bob.headers).status_code == 204
    assert both.client.get(f"{API}/posts/{post['id']}").json()["likes"] == 1
    assert video_counts(both, video)["likes"] == 1
    for _ in range(2):
        assert both.client.delete(f"{API}/posts/{post['id']}/like", headers=bob.headers).status_code == 204
        assert both.client.delete(f"{API}/videos/{video}/like", headers=bob.headers).status_code == 204
    assert both.client.get(f"{API}/posts/{post['id']}").json()["likes"] == 0
    assert video_counts(both, video)["likes"] == 0
    for method in ("PUT", "DELETE"):
        r = both.client.request(method, f"{API}/videos/{private}/like", headers=bob.headers)
        assert r.status_code == 404 and r.json()["code"] == "VIDEO_NOT_FOUND"
        assert (
            both.client.request(method, f"{API}/posts/{'0' * 32}/like", headers=bob.headers).status_code
            == 404
        )
    assert (
        both.client.put(f"{API}/videos/{private}/like", headers=ada.headers).status_code == 204
    )  # the owner
    assert both.client.put(f"{API}/videos/{video}/like").status_code == 401


def test_fifty_concurrent_likes_and_unlikes_keep_counts_equal_to_rows(both: Platform) -> None:
    owner = member(both, "owner")
    video = ready_video(both, owner)
    post = both.client.post(f"{API}/posts", json={"text": "popular"}, headers=owner.headers).json()["id"]
    fans = [member(both, f"fan{i:02d}") for i in range(50)]
    paths = (f"{API}/posts/{post}/like", f"{API}/videos/{video}/like")
    rng = random.Random(14)

    def rows_and_counts() -> tuple[int, int, int, int]:
        with both.services.db.session() as session:
            post_rows = session.scalar(sa.select(sa.func.count()).where(PostLike.post_id == post))
            video_rows = session.scalar(sa.select(sa.func.count()).where(VideoLike.video_id == video))
            post_count = session.get(Post, post).likes  # type: ignore[union-attr]
        return (
            post_rows,
            post_count,
            video_rows,
            video_counts(both, video)["likes"],
        )

    with live_server(both) as base, httpx.Client(base_url=base, timeout=60) as client:

        def send(job: tuple[str, str, dict[str, str]]) -> int:
            return client.request(job[0], job[1], headers=job[2]).status_code

        rounds = [
            [("PUT", path, fan.headers) for fan in fans for path in paths],  # everyone likes
            [(rng.choice(("PUT", "DELETE")), path, fan.headers) for fan in fans for path in paths],
            [
                (rng.choice(("PUT", "DELETE")), rng.choice(paths), rng.choice(fans).headers)
                for _ in range(200)
            ],
        ]
        for jobs in rounds:
            rng.shuffle(jobs)
            with ThreadPoolExecutor(max_workers=50) as pool:
                assert set(pool.map(send, jobs)) == {204}
            post_rows, post_count, video_rows, video_count = rows_and_counts()
            assert post_count == post_rows and video_count == video_rows
        assert rows_and_counts()[0] < 50  # the unlikes happened too
        assert_counts_match_rows(both)
