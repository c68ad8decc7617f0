"""The views domain's periodic job: finished watch sessions into retention, old ones pruned."""

from __future__ import annotations

from typing import Any

from control_plane.views import ViewRollup
from workers import runtime

__all__ = ["rollup"]


def rollup(job_id: str) -> dict[str, Any]:
    """Returns how many sessions were rolled and how many raw sessions expired."""
    ctx = runtime.current()
    settings = ctx.settings
    return ViewRollup(
        ctx.db, idle=settings.views_session_idle, retention_days=settings.views_raw_retention_days
    ).run()
