"""The rollup job's work: finished watch sessions into the retention histogram, and raw sessions
past their retention deleted (the aggregates per day, country and device stay for good)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import sqlalchemy as sa

from control_plane.core.db import Database, utcnow
from control_plane.core.upsert import upsert
from control_plane.views.models import ViewFlush, ViewSession, WatchRetention

__all__ = ["ViewRollup"]

#: Sessions rolled per transaction.
CHUNK = 20_000


class ViewRollup:
    """``idle``: seconds of silence after which a session is finished; ``retention_days``: how
    long raw sessions are kept once rolled."""

    def __init__(self, db: Database, *, idle: float = 1800.0, retention_days: int = 30) -> None:
        self.db = db
        self.idle = idle
        self.retention_days = retention_days

    def run(self, now: datetime | None = None) -> dict[str, int]:
        """Roll every finished session, then prune; returns ``{rolled, expired}``.

        Each chunk marks its sessions rolled and adds their furthest positions to the histogram
        in one transaction, taking the rows with ``UPDATE ... RETURNING``, so a session is never
        counted twice even while a flush writes to the same table."""
        now = now or utcnow()
        finished_before = now - timedelta(seconds=self.idle)
        rolled = 0
        while True:
            with self.db.session() as session:
                ids = (
                    sa.select(ViewSession.id)
                    .where(ViewSession.rolled.is_(False), ViewSession.last_at < finished_before)
                    .limit(CHUNK)
                )
                result = session.execute(
                    sa.update(ViewSession)
                    .where(ViewSession.id.in_(ids.scalar_subquery()))
                    .values(rolled=True)
                    .returning(ViewSession.video_id, ViewSession.max_position, ViewSession.watched)
                    .execution_options(synchronize_session=False)
                ).all()
                histogram: dict[tuple[str, int], int] = defaultdict(int)
                for video_id, position, watched in result:
                    if watched > 0:
                        histogram[(video_id, int(position))] += 1
                upsert(
                    session,
                    WatchRetention,
                    [{"video_id": v, "second": s, "sessions": n} for (v, s), n in histogram.items()],
                    add=("sessions",),
                )
            rolled += len(result)
            if len(result) < CHUNK:
                break
        with self.db.session() as session:
            expired = session.execute(
                sa.delete(ViewSession)
                .where(
                    ViewSession.rolled.is_(True),
                    ViewSession.last_at < now - timedelta(days=self.retention_days),
                )
                .execution_options(synchronize_session=False)
            )
            session.execute(
                sa.delete(ViewFlush)
                .where(ViewFlush.at < now - timedelta(days=1))
                .execution_options(synchronize_session=False)
            )
        return {"rolled": rolled, "expired": int(getattr(expired, "rowcount", 0) or 0)}
