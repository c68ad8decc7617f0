"""The social graph through the API on both backends: follows, blocks, mutes, their lists and
counts, the hourly limit; and a property over any sequence of graph changes."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.platform import Platform, embedded, start_platform
from support.social import Member, member, user_counts

from control_plane.channels.models import Channel
from control_plane.http.pagination import PageParams, encode_cursor
from control_plane.social.models import Block, Follow, Mute

API = "/api/v1/users"


def names(platform: Platform, path: str, headers: dict[str, str] | None = None) -> list[str]:
    r = platform.client.get(path, headers=headers or {})
    assert r.status_code == 200, r.text
    return [item["username"] for item in r.json()["items"]]


def counts(platform: Platform, user: Member) -> dict[str, int]:
    return user_counts(platform, user.username)


def test_follow_unfollow_lists_and_counts(both: Platform) -> None:
    ada, bob, cy = (member(both, n) for n in ("ada", "bob", "cyd"))
    for _ in range(2):  # idempotent
        assert both.client.put(f"{API}/bob/follow", headers=ada.headers).status_code == 204
    assert both.client.put(f"{API}/bob/follow", headers=cy.headers).status_code == 204
    assert both.client.put(f"{API}/cyd/follow", headers=ada.headers).status_code == 204
    assert names(both, f"{API}/bob/followers") == ["cyd", "ada"]  # anonymous, newest first
    assert names(both, f"{API}/ada/following") == ["cyd", "bob"]
    assert counts(both, bob) == {"followers": 2, "following": 0, "posts": 0}
    assert counts(both, ada) == {"followers": 0, "following": 2, "posts": 0}
    for _ in range(2):
        assert both.client.delete(f"{API}/bob/follow", headers=ada.headers).status_code == 204
    assert names(both, f"{API}/bob/followers") == ["cyd"]
    assert counts(both, bob)["followers"] == 1 and counts(both, ada)["following"] == 1

    assert both.client.put(f"{API}/bob/follow").status_code == 401
    r = both.client.put(f"{API}/ada/follow", headers=ada.headers)
    assert r.status_code == 422 and r.json()["code"] == "CANNOT_FOLLOW_SELF"
    r = both.client.put(f"{API}/nobody/follow", headers=ada.headers)
    assert r.status_code == 404 and r.json()["code"] == "USER_NOT_FOUND"
    assert both.client.get(f"{API}/nobody/followers").status_code == 404
    assert both.client.get(f"{API}/bad%00name/followers").status_code == 422


def test_block_removes_follows_and_hides_both_ways(both: Platform) -> None:
    ada, bob, cy = (member(both, n) for n in ("ada", "bob", "cyd"))
    for who, whom in ((ada, "bob"), (bob, "ada"), (cy, "ada"), (cy, "bob")):
        assert both.client.put(f"{API}/{whom}/follow", headers=who.headers).status_code == 204
    assert both.client.put(f"{API}/bob/block", headers=ada.headers).status_code == 204
    assert counts(both, ada) == {"followers": 1, "following": 0, "posts": 0}
    assert counts(both, bob) == {"followers": 1, "following": 0, "posts": 0}
    # Neither can follow the other again: ada is told, bob no longer finds ada at all.
    assert both.client.put(f"{API}/bob/follow", headers=ada.headers).json()["code"] == "BLOCKED"
    assert both.client.put(f"{API}/ada/follow", headers=bob.headers).status_code == 404
    assert both.client.get(f"{API}/ada/followers", headers=bob.headers).status_code == 404
    # A third party's lists hide each from the other.
    assert names(both, f"{API}/cyd/following", ada.headers) == ["ada"]
    assert names(both, f"{API}/cyd/following", bob.headers) == ["bob"]
    assert names(both, f"{API}/cyd/following") == ["bob", "ada"]
    assert names(both, f"{API}/me/blocks", ada.headers) == ["bob"]
    assert names(both, f"{API}/me/blocks", bob.headers) == []
    assert both.client.get(f"{API}/me/blocks").status_code == 401

    assert both.client.delete(f"{API}/bob/block", headers=ada.headers).status_code == 204
    assert both.client.put(f"{API}/ada/follow", headers=bob.headers).status_code == 204
    assert names(both, f"{API}/ada/followers", ada.headers) == ["bob", "cyd"]


def test_mute_hides_silently(both: Platform) -> None:
    ada, bob, cy = (member(both, n) for n in ("ada", "bob", "cyd"))
    for who in (ada, bob):
        both.client.put(f"{API}/cyd/follow", headers=who.headers)
    assert both.client.put(f"{API}/ada/follow", headers=bob.headers).status_code == 204
    assert both.client.put(f"{API}/bob/mute", headers=ada.headers).status_code == 204
    assert names(both, f"{API}/cyd/followers", ada.headers) == ["ada"]
    assert names(both, f"{API}/cyd/followers", bob.headers) == ["bob", "ada"]  # bob is not told
    assert names(both, f"{API}/ada/followers", ada.headers) == []  # the follow stays, hidden from ada
    assert counts(both, ada)["followers"] == 1
    assert names(both, f"{API}/me/mutes", ada.headers) == ["bob"]
    assert both.client.delete(f"{API}/bob/mute", headers=ada.headers).status_code == 204
    assert names(both, f"{API}/me/mutes", ada.headers) == []
    assert both.client.put(f"{API}/ada/mute", headers=ada.headers).status_code == 422


def test_lists_paginate_without_duplicates_or_gaps(both: Platform) -> None:
    star = member(both, "star")
    fans = [member(both, f"fan{i:02d}") for i in range(7)]
    for fan in fans:
        both.client.put(f"{API}/star/follow", headers=fan.headers)
    seen: list[str] = []
    r = both.client.get(f"{API}/star/followers?limit=3").json()
    seen += [i["username"] for i in r["items"]]
    # Between pages: one already listed leaves, one not yet listed leaves, a new one arrives.
    both.client.delete(f"{API}/star/follow", headers=fans[6].headers)
    both.client.delete(f"{API}/star/follow", headers=fans[1].headers)
    both.client.put(f"{API}/star/follow", headers=member(both, "latecomer").headers)
    while r["next_cursor"]:
        r = both.client.get(f"{API}/star/followers", params={"limit": 3, "cursor": r["next_cursor"]}).json()
        seen += [i["username"] for i in r["items"]]
    assert seen == ["fan06", "fan05", "fan04", "fan03", "fan02", "fan00"]
    r = both.client.get(f"{API}/star/followers?cursor=not-a-cursor")
    assert r.status_code == 422 and r.json()["code"] == "INVALID_CURSOR"
    assert both.client.get(f"{API}/star/followers?limit=101").status_code == 422
    forged = (  # well-formed cursors whose values do not fit the list's columns, or another list's
        encode_cursor("followers", ["not a time", "x"]),
        encode_cursor("followers", [datetime(2026, 1, 1), "x"]),  # no time zone
        encode_cursor("followers", [datetime(2026, 1, 1, tzinfo=UTC), "\x00"]),
        encode_cursor("following", [datetime(2026, 1, 1, tzinfo=UTC), "x"]),
    )
    for cursor in forged:
        r = both.client.get(f"{API}/star/followers", params={"cursor": cursor})
        assert r.status_code == 422 and r.json()["code"] == "INVALID_CURSOR", cursor
    assert star.id


def test_follows_are_rate_limited(tmp_path: Path, platform_factory) -> None:  # type: ignore[no-untyped-def]
    platform = platform_factory(embedded(tmp_path, follow_rate_per_hour=3), inprocess_workers=False)
    ada = member(platform, "ada")
    for name in ("bob", "cyd", "dan", "eve"):
        member(platform, name)
    for name in ("bob", "cyd", "dan"):
        assert platform.client.put(f"{API}/{name}/follow", headers=ada.headers).status_code == 204
    r = platform.client.put(f"{API}/eve/follow", headers=ada.headers)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert r.json()["detail"].startswith("At most 3 follows an hour")


# -- the property -------------------------------------------------------------------------

PEOPLE = ("pam", "quin", "rey", "sol")


@pytest.fixture(scope="module")
def graph_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    settings_ = embedded(Path(tmp_path_factory.mktemp("graph")), follow_rate_per_hour=1_000_000)
    settings_.secret_key = secrets.token_urlsafe(48)
    gen = start_platform(settings_, inprocess_workers=False)
    platform = next(gen)
    for name in PEOPLE:
        platform.user(name)
    yield platform
    for _ in gen:
        pass


OPS = st.lists(
    st.tuples(
        st.sampled_from(("follow", "unfollow", "block", "unblock", "mute")),
        st.sampled_from(PEOPLE),
        st.sampled_from(PEOPLE),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=OPS)
def test_graph_stays_consistent_under_any_sequence(
    graph_platform: Platform, ops: list[tuple[str, str, str]]
) -> None:
    services = graph_platform.services
    graph = services.social.graph
    with services.db.session() as session:
        for model in (Follow, Block, Mute, Channel):
            session.execute(sa.delete(model))
        ids = dict(session.execute(sa.text("SELECT username, id FROM users")).all())
    follows: set[tuple[str, str]] = set()
    blocks: set[tuple[str, str]] = set()
    for op, a, b in ops:
        try:
            getattr(graph, op)(ids[a], b)
        except Exception as exc:  # refusals are part of the model below
            assert getattr(exc, "status", None) in (403, 404, 422), exc
        if a == b:
            continue
        if op == "follow" and (a, b) not in blocks and (b, a) not in blocks:
            follows.add((a, b))
        elif op == "unfollow":
            follows.discard((a, b))
        elif op == "block":
            blocks.add((a, b))
            follows -= {(a, b), (b, a)}
        elif op == "unblock":
            blocks.discard((a, b))
    everyone = PageParams(limit=100)
    following = {(a, u.username) for a in PEOPLE for u in graph.following(a, None, everyone)[0]}
    followers = {(u.username, b) for b in PEOPLE for u in graph.followers(b, None, everyone)[0]}
    assert following == followers == follows
    assert not any((a, b) in blocks or (b, a) in blocks for a, b in following)
    for p in PEOPLE:
        profile = services.channels.profile(p)  # what the profile shows: the channel's row
        assert profile.followers == sum(1 for _, b in follows if b == p)
        assert profile.following == sum(1 for a, _ in follows if a == p)
