"""Trending hashtags the Mastodon way: distinct accounts today against yesterday, a minimum of
accounts, a decaying peak; one account repeating a tag counts once; the periodic job and the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from support.platform import Platform
from support.social import member

from control_plane.core.db import utcnow
from control_plane.social import TrendService
from control_plane.social.models import PostTag
from control_plane.social.trends import trend_score

API = "/api/v1"


@pytest.mark.parametrize(
    ("observed", "expected", "score"),
    [(10, 2, 32.0), (10, 0, 81.0), (4, 0, 0.0), (5, 5, 0.0), (5, 9, 0.0), (6, 1, 25.0)],
)
def test_score(observed: int, expected: int, score: float) -> None:
    assert trend_score(observed, expected, min_accounts=5) == score


def use(platform: Platform, who, text: str, hours_ago: float) -> None:  # type: ignore[no-untyped-def]
    r = platform.client.post(f"{API}/posts", json={"text": text}, headers=who.headers)
    assert r.status_code == 201, r.text
    with platform.services.db.session() as session:
        session.execute(
            sa.update(PostTag)
            .where(PostTag.post_id == r.json()["id"])
            .values(created_at=utcnow() - timedelta(hours=hours_ago))
        )


def trending(platform: Platform) -> list[tuple[str, int, int]]:
    r = platform.client.get(f"{API}/hashtags/trending")
    assert r.status_code == 200, r.text
    return [(t["name"], t["accounts"], t["expected"]) for t in r.json()["items"]]


def test_rising_tags_trend_and_spam_does_not(both: Platform) -> None:
    people = [member(both, f"user{i}") for i in range(7)]
    for who in people[:6]:
        use(both, who, "all about #Rising", hours_ago=1)
    use(both, people[6], "#Rising yesterday", hours_ago=30)
    for who in people[:5]:
        use(both, who, "#Steady today", hours_ago=2)
        use(both, who, "#Steady yesterday", hours_ago=26)
    for i in range(30):
        use(both, people[0], f"#spam number {i}", hours_ago=0.5)
    now = utcnow()
    service = TrendService(both.services.db, min_accounts=5, half_life=86400)
    assert service.recompute(now) == 1
    assert trending(both) == [("Rising", 6, 1)]
    first = both.client.get(f"{API}/hashtags/trending").json()["items"][0]
    assert first["score"] == 25.0 and first["posts"] == 7

    # A day later nobody uses it: its peak decays by half per half-life instead of vanishing.
    assert service.recompute(now + timedelta(days=1, hours=2)) == 1
    assert both.client.get(f"{API}/hashtags/trending").json()["items"][0]["score"] == pytest.approx(
        25.0 * 0.5 ** (26 / 24), rel=1e-3
    )
    assert service.recompute(now + timedelta(days=30)) == 0
    assert trending(both) == []


def test_the_periodic_job_recomputes(platform: Platform) -> None:
    admin = member(platform, "admin1", role="admin")
    people = [member(platform, f"user{i}") for i in range(5)]
    for who in people:
        use(platform, who, "#Launch day", hours_ago=1)
    job = platform.services.jobs.enqueue("hashtags.trends")
    assert platform.wait_job(job.id, admin.headers)["status"] == "succeeded"
    assert trending(platform) == [("Launch", 5, 0)]
    job = platform.services.jobs.enqueue("search.refresh")
    assert platform.wait_job(job.id, admin.headers)["status"] == "succeeded"
