"""Moderation: reports and the severity queue, decisions and appeals, automated pre-screening,
and who may watch what beyond a video's visibility (geofencing and age limits, ``access.py``)."""

from __future__ import annotations

from control_plane.moderation.service import ModerationService, screening_hold

__all__ = ["ModerationService", "screening_hold"]
