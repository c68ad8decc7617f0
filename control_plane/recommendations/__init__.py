"""Recommendations: collaborative filtering, co-watch and content similarity, blended (see
``engine.py`` for the arithmetic and ``service.py`` for training and serving)."""

from __future__ import annotations

from control_plane.recommendations.service import RecommendationService

__all__ = ["RecommendationService"]
