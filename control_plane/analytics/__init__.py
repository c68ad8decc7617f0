"""Creator analytics: reports per video and per channel, CSV exports and PNG charts."""

from __future__ import annotations

from control_plane.analytics.report import Report
from control_plane.analytics.service import AnalyticsService, date_range

__all__ = ["AnalyticsService", "Report", "date_range"]
