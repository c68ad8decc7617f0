"""Retrains the recommendation model from the latest watching."""

from __future__ import annotations

from typing import Any

from control_plane.recommendations import RecommendationService
from workers import runtime

__all__ = ["train"]


def train(job_id: str) -> dict[str, Any]:
    """Returns the model's size: items, users and interactions."""
    ctx = runtime.current()
    service = RecommendationService(ctx.db, ctx.store)
    return service.train(days=ctx.settings.recommendations_days)
