"""The ads domain's tables: campaigns, their creatives, daily delivery counts, viewers' ad profiles
and the per-video breakdown of what ads earned (the money is in the payments ledger).

Money is integer: budgets and bids in the currency's minor units (cents); spend in *millis*, a
thousandth of a minor unit, so that one impression bought at a CPM of ``c`` minor units costs
exactly ``c`` millis.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.accounts.models import User
from control_plane.core.db import Base, UTCDateTime, new_id, utcnow
from control_plane.videos.models import Video

__all__ = [
    "CAMPAIGN_STATES",
    "CREATIVE_STATES",
    "EVENTS",
    "AdCampaign",
    "AdCreative",
    "AdDailyStats",
    "AdEarning",
    "AdViewerProfile",
]

#: active: may serve; paused: its advertiser stopped it; ended: it can never serve again.
CAMPAIGN_STATES = ("active", "paused", "ended")
#: pending: waits for a moderator; approved: may run; rejected: never runs.
CREATIVE_STATES = ("pending", "approved", "rejected")
#: The tracked events, in the order a player sends them (``skip`` and ``click`` may come any time
#: after ``start``).
EVENTS = ("impression", "start", "firstQuartile", "midpoint", "thirdQuartile", "complete", "skip", "click")


def _count() -> Mapped[int]:
    return mapped_column(sa.BigInteger, default=0, server_default="0")


class AdCampaign(Base):
    """An advertiser's campaign. ``targeting`` holds the lists of ``countries`` (ISO 3166 alpha-2),
    ``devices``, ``interests`` (catalogue categories) and ``audiences``, and ``age_min`` /
    ``age_max``; an empty list or a null bound does not restrict. ``spent_millis`` is what the
    flushes have recorded; the live figure is in the counters (Redis)."""

    __tablename__ = "ad_campaigns"
    __table_args__ = (sa.Index("ix_ad_campaigns_advertiser", "advertiser_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    advertiser_id: Mapped[str] = mapped_column(sa.ForeignKey(User.id, ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(120))
    currency: Mapped[str] = mapped_column(sa.String(3))
    budget: Mapped[int] = mapped_column(sa.BigInteger)
    daily_budget: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    cpm_bid: Mapped[int] = mapped_column(sa.Integer)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="active")
    targeting: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    excluded_categories: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    cap_impressions: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    cap_seconds: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    spent_millis: Mapped[int] = _count()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Every change moves it: the decision index re-reads the campaigns changed since its last look.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, index=True)


class AdCreative(Base):
    """A campaign's ad: one of the advertiser's ready videos of at most 7 s, reviewed by a
    moderator. ``mp4`` is the progressive MP4 made for it (a path under the video's media folder),
    None until the ``ads.creative`` job has written it."""

    __tablename__ = "ad_creatives"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    campaign_id: Mapped[str] = mapped_column(sa.ForeignKey(AdCampaign.id, ondelete="CASCADE"), index=True)
    video_id: Mapped[str] = mapped_column(sa.ForeignKey(Video.id, ondelete="CASCADE"), index=True)
    click_url: Mapped[str] = mapped_column(sa.String(2000))
    duration: Mapped[float] = mapped_column(sa.Float)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    review_note: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)
    mp4: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    mp4_width: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    mp4_height: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, index=True)


class AdDailyStats(Base):
    """What one campaign delivered on one UTC day, as flushed from the counters."""

    __tablename__ = "ad_daily_stats"

    campaign_id: Mapped[str] = mapped_column(
        sa.ForeignKey(AdCampaign.id, ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    impressions: Mapped[int] = _count()
    starts: Mapped[int] = _count()
    first_quartiles: Mapped[int] = _count()
    midpoints: Mapped[int] = _count()
    third_quartiles: Mapped[int] = _count()
    completes: Mapped[int] = _count()
    skips: Mapped[int] = _count()
    clicks: Mapped[int] = _count()
    spent_millis: Mapped[int] = _count()


class AdViewerProfile(Base):
    """What a viewer told the ads domain about themselves: the year they were born (age targeting
    reaches only viewers who gave one)."""

    __tablename__ = "ad_viewer_profiles"

    user_id: Mapped[str] = mapped_column(sa.ForeignKey(User.id, ondelete="CASCADE"), primary_key=True)
    birth_year: Mapped[int | None] = mapped_column(sa.SmallInteger, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AdEarning(Base):
    """What ads on one video earned one user on one UTC day, in minor units: the breakdown by video
    of the ledger's ``ads`` transactions (the money itself is in the payments ledger). ``role``:
    ``creator`` (the video's owner) or ``claimant`` (a Content-ID ``monetize`` claim on it)."""

    __tablename__ = "ad_earnings"

    user_id: Mapped[str] = mapped_column(sa.ForeignKey(User.id, ondelete="CASCADE"), primary_key=True)
    video_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    currency: Mapped[str] = mapped_column(sa.String(3), primary_key=True)
    amount: Mapped[int] = mapped_column(sa.BigInteger, default=0)
