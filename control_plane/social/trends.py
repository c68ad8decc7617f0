"""Trending hashtags, the way Mastodon ranks them.

For each tag used lately: ``observed`` is the number of distinct accounts that used it in the
last 24 h, ``expected`` the number in the 24 h before (at least 1). A tag used by fewer than
``min_accounts`` accounts scores 0; otherwise, if ``observed > expected``, its score is
``(observed - expected)² / expected``. One account posting a tag a thousand times counts once.
The score does not drop the moment growth stops: a tag keeps its peak (``max_score``), decayed
by half every ``half_life`` seconds, until a higher score replaces it or it has decayed to
nothing. ``hashtags.trends`` (a periodic job) recomputes it; the list reads what it stored.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import sqlalchemy as sa

from control_plane.core.db import Database, utcnow
from control_plane.http.pagination import Order, PageParams, keyset_page
from control_plane.social.counters import upsert
from control_plane.social.models import Hashtag, HashtagTrend, Post, PostTag
from control_plane.social.schemas import TrendOut

__all__ = ["TrendService", "trend_score"]

DAY = timedelta(days=1)
#: A decayed peak below this is no longer a trend; its row is dropped.
FLOOR = 0.01
TRENDING = Order("trending", (HashtagTrend.score, HashtagTrend.tag))


def trend_score(observed: int, expected: int, min_accounts: int) -> float:
    """``(observed - expected)² / expected`` when the tag grows past ``min_accounts`` accounts, else 0."""
    expected = max(expected, 1)
    if observed < min_accounts or observed <= expected:
        return 0.0
    return (observed - expected) ** 2 / expected


class TrendService:
    """Owns ``hashtag_trends``. ``half_life`` is seconds."""

    def __init__(self, db: Database, *, min_accounts: int, half_life: float) -> None:
        self.db = db
        self.min_accounts = min_accounts
        self.half_life = half_life

    def _accounts(self, session: sa.orm.Session, start: datetime, end: datetime) -> dict[str, int]:
        window = sa.and_(PostTag.created_at >= start, PostTag.created_at < end)
        held = sa.select(Post.id).where(Post.held.is_(True)).scalar_subquery()
        rows = session.execute(
            sa.select(PostTag.tag, sa.func.count(sa.distinct(PostTag.author_id)))
            .where(window, PostTag.post_id.not_in(held))  # a post held for review does not count
            .group_by(PostTag.tag)
        )
        return {tag: int(count) for tag, count in rows}

    def recompute(self, now: datetime | None = None) -> int:
        """Score every tag used in the last 24 h and decay the others; returns how many trend."""
        now = now or utcnow()
        with self.db.session() as session:
            observed = self._accounts(session, now - DAY, now)
            expected = self._accounts(session, now - 2 * DAY, now - DAY)
            known = {t.tag: t for t in session.execute(sa.select(HashtagTrend)).scalars()}
            for tag in set(observed) | set(known):
                seen, wanted = observed.get(tag, 0), expected.get(tag, 0)
                score = trend_score(seen, wanted, self.min_accounts)
                previous = known.get(tag)
                peak, peak_at = (previous.max_score, previous.max_score_at) if previous else (0.0, now)
                decayed = peak * math.pow(0.5, (now - peak_at).total_seconds() / self.half_life)
                if score >= decayed:
                    peak, peak_at, decayed = score, now, score
                if decayed < FLOOR:
                    session.execute(sa.delete(HashtagTrend).where(HashtagTrend.tag == tag))
                    continue
                values = {
                    "score": decayed,
                    "max_score": peak,
                    "max_score_at": peak_at,
                    "accounts": seen,
                    "expected": wanted,
                    "computed_at": now,
                }
                stmt = upsert(session, HashtagTrend).values(tag=tag, **values)
                session.execute(stmt.on_conflict_do_update(index_elements=["tag"], set_=values))
            return int(session.execute(sa.select(sa.func.count()).select_from(HashtagTrend)).scalar_one())

    def trending(self, page: PageParams) -> tuple[list[TrendOut], str | None]:
        """The trending tags, highest score first."""
        query: sa.Select = sa.select(HashtagTrend, Hashtag, *TRENDING.columns).join(
            Hashtag, Hashtag.tag == HashtagTrend.tag
        )
        with self.db.session() as session:
            rows, cursor = keyset_page(session, query, TRENDING, page)
        return [
            TrendOut(
                tag=trend.tag,
                name=tag.name,
                score=round(trend.score, 4),
                accounts=trend.accounts,
                expected=trend.expected,
                posts=tag.posts,
            )
            for trend, tag, *_ in rows
        ], cursor
