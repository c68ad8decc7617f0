"""Ads: campaigns, creatives, the VAST decision, tracking and the spend port (see docs/ads.md)."""

from control_plane.ads.counters import AdCounters, open_counters
from control_plane.ads.server import AdServer
from control_plane.ads.service import MAX_CREATIVE_SECONDS, AdService, CampaignSpec
from control_plane.ads.spend import AdSpend

__all__ = [
    "AdCounters",
    "AdServer",
    "AdService",
    "AdSpend",
    "CampaignSpec",
    "MAX_CREATIVE_SECONDS",
    "open_counters",
]
