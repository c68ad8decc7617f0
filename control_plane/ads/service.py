"""AdService: the one writer of the ads domain's tables.

Campaigns and their rules, creatives (an advertiser's own ready video of at most 7.0 s, reviewed
by a moderator, packaged as a progressive MP4 by the ``ads.creative`` job), viewers' ad profiles,
the reports, and the flush that moves the live counters' deliveries into the database and their
spend onto the payments ledger (through the spend port, see ``spend.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.accounts.models import User
from control_plane.ads.counters import AdCounters
from control_plane.ads.errors import (
    CampaignInvalid,
    CampaignNotFound,
    CreativeNotFound,
    CreativeNotReady,
    CreativeTooLong,
    CurrencyNotServed,
    NotYourVideo,
)
from control_plane.ads.models import AdCampaign, AdCreative, AdDailyStats, AdEarning, AdViewerProfile
from control_plane.ads.spend import AdSpend
from control_plane.core.db import Database, utcnow
from control_plane.core.errors import Conflict
from control_plane.core.leftovers import Leftovers
from control_plane.core.upsert import upsert
from control_plane.http.pagination import Order, PageParams, keyset_page
from control_plane.videos.models import Video

__all__ = ["AdService", "CampaignSpec", "MAX_CREATIVE_SECONDS", "STAT_FIELDS", "Report"]

log = logging.getLogger(__name__)

#: The ad format: a creative is at most this long, on its transcoded duration (seconds).
MAX_CREATIVE_SECONDS = 7.0
#: Counter event -> ``AdDailyStats`` column.
STAT_FIELDS = {
    "impression": "impressions",
    "start": "starts",
    "firstQuartile": "first_quartiles",
    "midpoint": "midpoints",
    "thirdQuartile": "third_quartiles",
    "complete": "completes",
    "skip": "skips",
    "click": "clicks",
    "spent": "spent_millis",
}
NEWEST = Order("campaigns", (AdCampaign.created_at, AdCampaign.id))
OLDEST_PENDING = Order("reviews", (AdCreative.created_at, AdCreative.id), descending=False)


@dataclass
class CampaignSpec:
    """A campaign as asked for; money in minor units, ``cap_seconds`` the cap's period."""

    name: str
    budget: int
    currency: str
    cpm_bid: int
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    daily_budget: int | None = None
    targeting: dict[str, Any] = field(default_factory=dict)
    excluded_categories: list[str] = field(default_factory=list)
    cap_impressions: int | None = None
    cap_seconds: int | None = None


@dataclass(frozen=True)
class Report:
    campaign: AdCampaign
    totals: dict[str, int]
    days: list[AdDailyStats]
    #: Minor units the ledger took from the advertiser for the campaign.
    charged: int = 0


class AdService:
    def __init__(
        self,
        db: Database,
        spend: AdSpend,
        enqueue: Callable[..., object],
        *,
        currency: str,
        reserve_cpm: int,
    ) -> None:
        self.db, self.spend, self.enqueue = db, spend, enqueue
        self.currency, self.reserve_cpm = currency, reserve_cpm

    # -- campaigns --------------------------------------------------------------------------

    def create_campaign(self, advertiser: User, spec: CampaignSpec) -> AdCampaign:
        """Check the campaign's rules and store it. Its spend is paid from the advertiser's prepaid
        balance as it is delivered: a campaign serves only while that balance covers it."""
        if spec.currency.upper() != self.currency:
            raise CurrencyNotServed(f"Ads are bought in {self.currency} on this platform.")
        if spec.cpm_bid < self.reserve_cpm:
            raise CampaignInvalid(
                f"A CPM bid below the reserve price ({self.reserve_cpm} minor units) never wins."
            )
        if spec.daily_budget is not None and spec.daily_budget > spec.budget:
            raise CampaignInvalid("The daily budget cannot be more than the whole budget.")
        starts = spec.starts_at or utcnow()
        if spec.ends_at is not None and spec.ends_at <= starts:
            raise CampaignInvalid("The campaign must end after it starts.")
        if (spec.cap_impressions is None) != (spec.cap_seconds is None):
            raise CampaignInvalid("A frequency cap needs both its impressions and its period.")
        low, high = spec.targeting.get("age_min"), spec.targeting.get("age_max")
        if low is not None and high is not None and low > high:
            raise CampaignInvalid("age_min cannot be above age_max.")
        campaign = AdCampaign(
            advertiser_id=advertiser.id,
            name=spec.name,
            currency=self.currency,
            budget=spec.budget,
            daily_budget=spec.daily_budget,
            cpm_bid=spec.cpm_bid,
            starts_at=starts,
            ends_at=spec.ends_at,
            status="active",
            targeting=spec.targeting,
            excluded_categories=sorted(set(spec.excluded_categories)),
            cap_impressions=spec.cap_impressions,
            cap_seconds=spec.cap_seconds,
        )
        with self.db.session() as session:
            session.add(campaign)
        return campaign

    def _own(self, session: Session, user: User, campaign_id: str, *, moderator: bool = False) -> AdCampaign:
        campaign = session.get(AdCampaign, campaign_id)
        if campaign is None or not (moderator or campaign.advertiser_id == user.id):
            raise CampaignNotFound()
        return campaign

    def campaign(self, user: User, campaign_id: str, *, moderator: bool = False) -> AdCampaign:
        with self.db.session() as session:
            return self._own(session, user, campaign_id, moderator=moderator)

    def campaigns(self, user: User, page: PageParams) -> tuple[list[AdCampaign], str | None]:
        with self.db.session() as session:
            query: sa.Select = sa.select(AdCampaign, *NEWEST.columns).where(
                AdCampaign.advertiser_id == user.id
            )
            rows, cursor = keyset_page(session, query, NEWEST, page)
            return [row[0] for row in rows], cursor

    def set_status(self, user: User, campaign_id: str, status: str) -> AdCampaign:
        """Pause or resume a campaign, or end it for good."""
        with self.db.session() as session:
            campaign = self._own(session, user, campaign_id)
            if campaign.status == "ended" and status != "ended":
                raise Conflict("An ended campaign cannot run again.", code="CAMPAIGN_ENDED")
            campaign.status = status
        return campaign

    def creatives(self, user: User, campaign_id: str, *, moderator: bool = False) -> list[AdCreative]:
        with self.db.session() as session:
            self._own(session, user, campaign_id, moderator=moderator)
            query = sa.select(AdCreative).where(AdCreative.campaign_id == campaign_id)
            return list(session.scalars(query.order_by(AdCreative.created_at, AdCreative.id)))

    # -- creatives ----------------------------------------------------------------------------

    def add_creative(self, user: User, campaign_id: str, video_id: str, click_url: str) -> AdCreative:
        """A creative from one of the advertiser's own ready videos of at most 7.0 s (the transcoded
        duration). It waits for a moderator's review, and its MP4 is made by a job."""
        with self.db.session() as session:
            campaign = self._own(session, user, campaign_id)
            if campaign.status == "ended":
                raise Conflict("An ended campaign takes no new creatives.", code="CAMPAIGN_ENDED")
            video = session.get(Video, video_id)
            if video is None or video.owner_id != campaign.advertiser_id:
                raise NotYourVideo()
            if video.status != "ready" or video.duration is None or not (video.outputs or {}).get("hls"):
                raise CreativeNotReady(
                    f"The video is {video.status}; a creative must be a ready (transcoded) video."
                )
            if video.duration > MAX_CREATIVE_SECONDS + 1e-6:
                raise CreativeTooLong(
                    f"The video is {video.duration:.2f} s long once transcoded; an ad may be at most "
                    f"{MAX_CREATIVE_SECONDS:.1f} s. Trim it and upload it again."
                )
            creative = AdCreative(
                campaign_id=campaign.id,
                video_id=video.id,
                click_url=click_url,
                duration=float(video.duration),
                status="pending",
            )
            session.add(creative)
        self.enqueue(
            "ads.creative",
            args={"creative_id": creative.id, "video_id": video_id},
            subject=f"video:{video_id}",
        )
        return creative

    def packaged(self, creative_id: str, *, mp4: str, width: int, height: int) -> bool:
        """The ``ads.creative`` job wrote the creative's MP4; False when the creative is gone."""
        with self.db.session() as session:
            creative = session.get(AdCreative, creative_id)
            if creative is None:
                return False
            creative.mp4, creative.mp4_width, creative.mp4_height = mp4, width, height
        return True

    def reviews(self, page: PageParams) -> tuple[list[AdCreative], str | None]:
        """Creatives waiting for a moderator, oldest first."""
        with self.db.session() as session:
            query: sa.Select = sa.select(AdCreative, *OLDEST_PENDING.columns).where(
                AdCreative.status == "pending"
            )
            rows, cursor = keyset_page(session, query, OLDEST_PENDING, page)
            return [row[0] for row in rows], cursor

    def review(self, moderator: User, creative_id: str, decision: str, note: str | None) -> AdCreative:
        """A moderator approves (it may run) or rejects (it never runs) a creative."""
        with self.db.session() as session:
            creative = session.get(AdCreative, creative_id)
            if creative is None:
                raise CreativeNotFound()
            creative.status = "approved" if decision == "approve" else "rejected"
            creative.review_note, creative.reviewed_by = note, moderator.id
            # The campaign's row moves too: the decision index re-reads what changed.
            campaign = session.get(AdCampaign, creative.campaign_id)
            if campaign is not None:
                campaign.updated_at = utcnow()
        return creative

    def video_removed(self, session: Session, video: Video, leftovers: Leftovers) -> None:
        """The video's remover: its creatives go, and their campaigns are marked changed."""
        campaigns = set(
            session.scalars(sa.select(AdCreative.campaign_id).where(AdCreative.video_id == video.id))
        )
        if not campaigns:
            return
        session.execute(sa.delete(AdCreative).where(AdCreative.video_id == video.id))
        session.execute(sa.update(AdCampaign).where(AdCampaign.id.in_(campaigns)).values(updated_at=utcnow()))

    # -- viewers ------------------------------------------------------------------------------

    def set_birth_year(self, user: User, birth_year: int | None) -> AdViewerProfile:
        with self.db.session() as session:
            profile = session.get(AdViewerProfile, user.id)
            if profile is None:
                profile = AdViewerProfile(user_id=user.id)
                session.add(profile)
            profile.birth_year = birth_year
            profile.updated_at = utcnow()
        return profile

    def profile(self, user: User) -> AdViewerProfile:
        with self.db.session() as session:
            return session.get(AdViewerProfile, user.id) or AdViewerProfile(user_id=user.id, birth_year=None)

    # -- reports ------------------------------------------------------------------------------

    def report(self, user: User, campaign_id: str, *, moderator: bool = False) -> Report:
        with self.db.session() as session:
            campaign = self._own(session, user, campaign_id, moderator=moderator)
            days = list(
                session.scalars(
                    sa.select(AdDailyStats)
                    .where(AdDailyStats.campaign_id == campaign_id)
                    .order_by(AdDailyStats.day)
                )
            )
            charged = self.spend.charged(session, campaign_id)
        totals = {column: sum(getattr(d, column) for d in days) for column in STAT_FIELDS.values()}
        return Report(campaign=campaign, totals=totals, days=days, charged=charged)

    def earnings(self, user: User) -> tuple[dict[str, int], list[tuple[str, str, str, int]]]:
        """What ``user`` earned from ads, minor units: by currency, and by (video, role, currency)."""
        with self.db.session() as session:
            rows = session.execute(
                sa.select(
                    AdEarning.video_id, AdEarning.role, AdEarning.currency, sa.func.sum(AdEarning.amount)
                )
                .where(AdEarning.user_id == user.id)
                .group_by(AdEarning.video_id, AdEarning.role, AdEarning.currency)
                .order_by(AdEarning.video_id, AdEarning.role)
            )
            videos = [(str(v), str(r), str(c), int(t or 0)) for v, r, c, t in rows]
        by_currency: dict[str, int] = {}
        for _, _, currency, amount in videos:
            by_currency[currency] = by_currency.get(currency, 0) + amount
        return by_currency, videos

    # -- the flush ------------------------------------------------------------------------------

    def flush(self, counters: AdCounters, *, batches: int = 500) -> int:
        """Move what the counters gathered into the database: each campaign's day of deliveries,
        and its spend onto the ledger through the spend port. Returns the batches written.

        Each drained batch has an id and stays in the counters until it is written and
        acknowledged. A flush that fails or dies leaves its batches there; a later flush takes them
        again, under the same ids, once they are stale (``AdCounters.stale_ms``), and a batch
        whose money was booked already books nothing and counts nothing again.
        """
        written = 0
        while True:
            drained = counters.drain(batches)
            if not drained:
                return written
            for batch in drained:
                self.write(batch.campaign, date.fromisoformat(batch.day), batch.counts, batch=batch.id)
                counters.ack(batch)
                written += 1
            if len(drained) < batches:
                return written

    def write(self, campaign_id: str, day: date, counts: dict[str, int], *, batch: str) -> bool:
        """Add one drained batch (``counts``: event names, ``spent`` and ``v:<video>`` millis) to the
        campaign's day and book its spend; False when this batch was written already (or the
        campaign is gone)."""
        with self.db.session(exclusive=True) as session:
            campaign = session.get(AdCampaign, campaign_id, with_for_update=True)
            if campaign is None:
                return False  # deleted with its advertiser: nothing left to count for
            spent = counts.get("spent", 0)
            if spent and self.spend.booked(session, campaign_id, batch):
                return False
            stats = session.get(AdDailyStats, (campaign_id, day), with_for_update=True)
            if stats is None:
                stats = AdDailyStats(campaign_id=campaign_id, day=day)
                for column in STAT_FIELDS.values():
                    setattr(stats, column, 0)
                session.add(stats)
            for event, column in STAT_FIELDS.items():
                if counts.get(event):
                    setattr(stats, column, getattr(stats, column) + counts[event])
            if not spent:
                return True
            before = campaign.spent_millis
            campaign.spent_millis = before + spent
            booking = self.spend.book(
                session,
                campaign_id=campaign_id,
                advertiser_id=campaign.advertiser_id,
                batch=batch,
                before_millis=before,
                spent_millis=spent,
                videos={key[2:]: n for key, n in counts.items() if key.startswith("v:") and n > 0},
            )
            if booking is not None and booking.shares:
                rows: dict[tuple[str, str, str], int] = {}
                for share in booking.shares:
                    key = (share.user_id, share.video_id, share.role)
                    rows[key] = rows.get(key, 0) + share.amount
                upsert(
                    session,
                    AdEarning,
                    [
                        {
                            "user_id": u,
                            "video_id": v,
                            "day": day,
                            "role": r,
                            "currency": campaign.currency,
                            "amount": n,
                        }
                        for (u, v, r), n in sorted(rows.items())
                    ],
                    add=("amount",),
                )
        return True


def today(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y-%m-%d")
