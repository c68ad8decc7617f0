"""Analytics charts, drawn off the request path and cached in the blob store."""

from __future__ import annotations

from datetime import date
from typing import Any

from control_plane.analytics import AnalyticsService
from control_plane.jobs.models import Job
from workers import runtime

__all__ = ["chart"]


def chart(job_id: str) -> dict[str, Any]:
    """Draw the job's chart (``video_id``, ``kind``, ``start``, ``end``) into its ``key``."""
    ctx = runtime.current()
    with ctx.db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        args = dict(job.args)
    service = AnalyticsService(
        ctx.db, ctx.store, ctx.kv, ctx.enqueue, chart_ttl=ctx.settings.analytics_chart_ttl
    )
    size = service.draw(
        args["video_id"],
        args["kind"],
        date.fromisoformat(args["start"]),
        date.fromisoformat(args["end"]),
        args["key"],
    )
    return {"key": args["key"], "bytes": size}
