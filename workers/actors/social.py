"""The social domain's periodic jobs: trending hashtags and the search index's refresh."""

from __future__ import annotations

from typing import Any

from control_plane.search import SearchService, open_backend
from control_plane.social import TrendService
from workers import runtime

__all__ = ["refresh_search", "trends"]


def trends(job_id: str) -> dict[str, Any]:
    """Recompute every tag's trend score; returns how many tags trend now."""
    ctx = runtime.current()
    service = TrendService(
        ctx.db, min_accounts=ctx.settings.trend_min_accounts, half_life=ctx.settings.trend_half_life
    )
    return {"trending": service.recompute()}


def refresh_search(job_id: str) -> dict[str, Any]:
    """Index what changed since the last refresh; returns how many rows of each source were read."""
    ctx = runtime.current()
    return {"read": SearchService(ctx.db, open_backend(ctx.db)).refresh()}
