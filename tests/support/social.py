"""Helpers of the social domain's tests: settings for either backend, signed-in users, ready
videos, and a check of every count against its rows.

Videos are made ready by writing their row, because what is tested here is what viewers do with a
video, not how it was transcoded.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import pytest

from control_plane.core.db import new_id
from control_plane.core.settings import load_settings
from control_plane.videos.models import Video
from support.platform import Platform, embedded


@dataclass
class Member:
    """A signed-in user of a test platform."""

    username: str
    id: str
    headers: dict[str, str]


def member(platform: Platform, username: str, *, role: str = "creator") -> Member:
    """A new user, signed in. Made through the accounts service rather than the sign-up route,
    whose per-address limit every test client shares (one address, ``testclient``)."""
    accounts = platform.services.accounts
    user = accounts.register(username, f"{username}@example.com", "correct horse battery", role=role)
    tokens = accounts.start_session(user.id)
    return Member(username=username, id=user.id, headers={"Authorization": f"Bearer {tokens.access_token}"})


def video_row(platform: Platform, owner: Member, **columns: object) -> str:
    """A video row of ``owner`` (no media files), ready and public unless ``columns`` say
    otherwise; returns its id."""
    video_id = new_id()
    values = {"title": "A video", "status": "ready", "visibility": "public", **columns}
    with platform.services.db.session() as session:
        session.add(Video(id=video_id, owner_id=owner.id, **values))
    return video_id


def ready_video(
    platform: Platform, owner: Member, *, title: str = "A video", visibility: str = "public"
) -> str:
    """A ready video of ``owner`` (its row only); returns its id."""
    return video_row(platform, owner, title=title, visibility=visibility)


def backend_settings(kind: str, tmp_path: Path, request: pytest.FixtureRequest, **overrides: object):  # type: ignore[no-untyped-def]
    if kind == "sqlite":
        return embedded(tmp_path, **overrides)
    return load_settings(
        data_dir=tmp_path / "data",
        database_url=request.getfixturevalue("postgres_url"),
        redis_url=request.getfixturevalue("redis_url"),
        secret_key=secrets.token_urlsafe(48),
        **overrides,
    )


def user_counts(platform: Platform, username: str) -> dict[str, int]:
    """An account's ``followers``, ``following`` and ``posts`` as its public profile shows them."""
    r = platform.client.get(f"/api/v1/users/{username}")
    assert r.status_code == 200, r.text
    return {name: r.json()[name] for name in ("followers", "following", "posts")}


def video_counts(platform: Platform, video_id: str) -> dict[str, int]:
    """A video's ``likes`` and ``comments`` as the video's page shows them (a public video)."""
    r = platform.client.get(f"/api/v1/videos/{video_id}")
    assert r.status_code == 200, r.text
    return {name: r.json()[name] for name in ("likes", "comments")}


def assert_counts_match_rows(platform: Platform) -> None:
    """Every denormalised count the social domain changes equals the rows it counts: those of
    posts and comments, and those kept on the channel and video rows that show them."""
    import sqlalchemy as sa

    from control_plane.accounts.models import User
    from control_plane.channels.models import Channel
    from control_plane.social.models import Comment, CommentLike, Follow, Post, PostLike, VideoLike

    def count(*where: sa.ColumnElement[bool]) -> sa.ScalarSelect[int]:
        return sa.select(sa.func.count()).where(*where).scalar_subquery()

    def of_user(column: sa.ColumnElement[int], *where: sa.ColumnElement[bool]) -> sa.Select:
        """Users whose count (0 without a channel row) differs from the rows."""
        shown = sa.func.coalesce(column, 0)
        return sa.select(User.id).outerjoin(Channel, Channel.user_id == User.id).where(shown != count(*where))

    original = sa.orm.aliased(Post)
    visible = sa.orm.aliased(Comment)
    checks = {
        "post likes": sa.select(Post.id).where(Post.likes != count(PostLike.post_id == Post.id)),
        "post replies": sa.select(Post.id).where(Post.replies != count(original.reply_to == Post.id)),
        "post reposts": sa.select(Post.id).where(Post.reposts != count(original.repost_of == Post.id)),
        "comment likes": sa.select(Comment.id).where(
            Comment.likes != count(CommentLike.comment_id == Comment.id)
        ),
        "comment replies": sa.select(Comment.id).where(
            Comment.replies != count(visible.parent_id == Comment.id, visible.status == "visible")
        ),
        "video likes": sa.select(Video.id).where(Video.likes != count(VideoLike.video_id == Video.id)),
        "video comments": sa.select(Video.id).where(
            Video.comments != count(visible.video_id == Video.id, visible.status == "visible")
        ),
        "user followers": of_user(Channel.followers, Follow.followee_id == User.id),
        "user following": of_user(Channel.following, Follow.follower_id == User.id),
        "user posts": of_user(Channel.posts, original.author_id == User.id),
    }
    with platform.services.db.session() as session:
        wrong = {name: session.execute(query).scalars().all() for name, query in checks.items()}
    assert not any(wrong.values()), {name: ids for name, ids in wrong.items() if ids}
