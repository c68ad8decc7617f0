"""Recommendations on both backends: cold start from what is popular in the viewer's country, a
trained model's blend (ALS, co-watch, content) for a viewer with history, related videos, and
the filters: never a blocked channel's, a geofenced, an age-restricted (for a minor or unknown
age) or an already-finished video."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from support.platform import Platform
from support.social import member, ready_video
from support.viewing import DE, GB, player

from control_plane.views.models import ViewSession, WatchDaily

API = "/api/v1"


def watch(
    platform: Platform, user_id: str, video_id: str, owner_id: str, seconds: float, position: float = 5.0
) -> None:
    now = datetime.now(UTC)
    with platform.services.db.session() as session:
        session.add(
            ViewSession(
                id=f"{user_id[:16]}{video_id[:16]}", video_id=video_id, owner_id=owner_id, user_id=user_id,
                country="GB", device="desktop", started_at=now - timedelta(minutes=5), last_at=now,
                watched=seconds, max_position=position, heartbeats=3, counted=True, rolled=False,
            )
        )  # fmt: skip


def popular(platform: Platform, video_id: str, owner_id: str, country: str, views: int) -> None:
    with platform.services.db.session() as session:
        row = {"day": date.today(), "country": country, "device": "desktop", "owner_id": owner_id}
        session.add(WatchDaily(video_id=video_id, views=views, watch_seconds=views * 30.0, **row))


def ids(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    return [v["id"] for v in response.json()["items"]]


def test_cold_start_is_what_is_popular_in_the_viewers_country(platform_on) -> None:  # type: ignore[no-untyped-def]
    platform = platform_on()
    ada, bob = member(platform, "ada"), member(platform, "bob")
    british, german = ready_video(platform, ada, title="Tea"), ready_video(platform, ada, title="Bier")
    popular(platform, british, ada.id, "GB", 50)
    popular(platform, german, ada.id, "DE", 80)
    assert ids(player(platform, GB).get(f"{API}/recommendations", headers=bob.headers))[:2] == [
        british,
        german,
    ]
    assert ids(player(platform, DE).get(f"{API}/recommendations", headers=bob.headers))[:2] == [
        german,
        british,
    ]
    assert platform.client.get(f"{API}/recommendations").status_code == 401


def test_a_trained_model_blends_and_filters(platform_on) -> None:  # type: ignore[no-untyped-def]
    platform = platform_on()
    creators = [member(platform, f"maker{i}") for i in range(4)]
    cooking = [ready_video(platform, creators[i % 2], title=f"Pasta and sauce recipe {i}") for i in range(6)]
    games = [
        ready_video(platform, creators[2 + i % 2], title=f"Speedrun of a platform game {i}") for i in range(6)
    ]
    owner = {v: creators[i % 2].id for i, v in enumerate(cooking)} | {
        v: creators[2 + i % 2].id for i, v in enumerate(games)
    }
    cooks = [member(platform, f"cook{i}") for i in range(6)]
    gamers = [member(platform, f"gamer{i}") for i in range(6)]
    for i, cook in enumerate(cooks):
        for v in cooking[: 3 + i % 3]:
            watch(platform, cook.id, v, owner[v], 300)
    for i, gamer in enumerate(gamers):
        for v in games[: 3 + i % 3]:
            watch(platform, gamer.id, v, owner[v], 300)
    newcomer = member(platform, "newcomer")
    watch(platform, newcomer.id, cooking[0], owner[cooking[0]], 300)
    model = platform.services.recommendations.train()
    assert model == {"items": 12, "users": 13, "interactions": 49}
    platform.services.recommendations._checked = 0.0
    got = ids(player(platform, GB).get(f"{API}/recommendations?limit=4", headers=newcomer.headers))
    assert set(got) <= set(cooking[1:]) and len(got) == 4, got
    owners = [owner[v] for v in got]
    assert max(owners.count(o) for o in owners) <= 2  # at most two of one channel
    # finished videos, blocked channels, geofenced and age-restricted ones never come back
    watch(platform, newcomer.id, cooking[1], owner[cooking[1]], 300, position=100.0)
    with platform.services.db.session() as session:
        from control_plane.videos.models import Video

        session.get(Video, cooking[1]).duration = 100.0  # type: ignore[union-attr]
    blocked = creators[1]
    assert (
        platform.client.put(f"{API}/users/{blocked.username}/block", headers=newcomer.headers).status_code
        == 204
    )
    platform.client.patch(
        f"{API}/videos/{cooking[2]}", json={"blocked_countries": ["GB"]}, headers=creators[0].headers
    )
    platform.client.patch(
        f"{API}/videos/{cooking[4]}", json={"age_restricted": True}, headers=creators[0].headers
    )
    got = ids(player(platform, GB).get(f"{API}/recommendations?limit=20", headers=newcomer.headers))
    hidden = {cooking[1], cooking[2], cooking[4]} | {v for v in owner if owner[v] == blocked.id}
    assert not hidden & set(got) and got, got
    related = ids(player(platform, DE).get(f"{API}/videos/{games[0]}/related?limit=3"))
    assert set(related) <= set(games[1:]) and len(related) == 3, related
    assert player(platform, DE).get(f"{API}/videos/{'0' * 32}/related").status_code == 404
    assert player(platform, GB).get(f"{API}/videos/{cooking[2]}/related").status_code == 451
