"""Automated pre-screening of what was posted, commented or uploaded since the last run."""

from __future__ import annotations

from typing import Any

from control_plane.moderation.screening import Screener, TextScreen
from control_plane.social.holds import ReviewHolds
from control_plane.videos import VideoService
from workers import runtime

__all__ = ["screen"]


def screen(job_id: str) -> dict[str, Any]:
    """Returns how many posts, comments and videos were flagged."""
    ctx = runtime.current()
    text = TextScreen(ctx.settings.moderation_words, threshold=ctx.settings.moderation_text_threshold)
    holds = ReviewHolds(VideoService.add_counts)
    return {"flagged": Screener(ctx.db, ctx.videos, text, holds, ctx.events).run()}
