"""Advertisers' money: prepaid balances in the ledger, and ad spend booked from the ads flush.

An advertiser prepays like a viewer tips: :meth:`AdMoney.deposit` makes a payment intent at the
provider (the amount the advertiser asked for, checked here, in the platform's ad currency), the
client confirms it, and the provider's signed ``payment_intent.succeeded`` books it once
(``handlers.book_deposit``: ``external:provider`` → ``advertiser:{id}``, reference
``charge:{charge id}``, so a replayed event credits nothing). A refund or dispute of a deposit
takes it back from the advertiser's balance, the platform absorbing what was already spent.

The ads domain books spend through :meth:`AdMoney.book` (its ``AdSpend`` port) inside its flush's
transaction: a batch of a campaign's delivered impressions, in millis, becomes whole minor units
with the remainder carried in the campaign's running total (``before_millis``), shared among the
videos that carried the ads by the millis each carried (largest remainder), and for each video the
creator's share (``creator_share_bps``) goes to the creator's available balance, or, where a
Content-ID ``monetize`` claim stands, to the rights holders (as the watch-time pool does); the
rest goes to ``platform:ads``. One ledger transaction per batch, reference
``ad:{campaign}:{batch}``: the same batch is never booked twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.core.db import Database, new_id, utcnow
from control_plane.payments.ledger import LOSSES, Ledger, available
from control_plane.payments.memberships import Terms
from control_plane.payments.models import LedgerPosting, LedgerTransaction, Membership
from control_plane.payments.money import check_money
from control_plane.payments.providers import Intent, PaymentProvider
from control_plane.payments.revenue import ClaimSource, allocate
from control_plane.videos.models import Video

__all__ = ["ADS", "AdMoney", "Booking", "Share", "advertiser", "has_membership"]

#: The platform's share of ad spend.
ADS = "platform:ads"


def advertiser(user_id: str) -> str:
    """An advertiser's prepaid balance (guarded: it never goes below zero)."""
    return f"advertiser:{user_id}"


def has_membership(session: Session, viewer_id: str) -> bool:
    """True while the viewer holds a membership of any channel that grants access now (the ads
    audience ``members``)."""
    found = session.execute(
        sa.select(sa.literal(1))
        .where(
            Membership.member_id == viewer_id,
            Membership.status != "ended",
            Membership.access_until > utcnow(),
        )
        .limit(1)
    ).first()
    return found is not None


@dataclass(frozen=True)
class Share:
    """Part of a batch's spend credited to ``user_id`` for ``video_id`` (``role``: creator or
    claimant), minor units."""

    user_id: str
    video_id: str
    role: str
    amount: int


@dataclass(frozen=True)
class Booking:
    """What one batch booked: ``amount`` taken from the advertiser, its ``shares`` and the
    platform's part (all minor units)."""

    amount: int
    platform: int
    shares: list[Share] = field(default_factory=list)


class AdMoney:
    """Owns advertisers' balances and the booking of ad spend (the payments side of the ads)."""

    def __init__(
        self,
        db: Database,
        provider: PaymentProvider,
        terms: Terms,
        *,
        currency: str,
        creator_share_bps: int,
        claims: ClaimSource,
    ) -> None:
        self.db, self.provider, self.terms, self.claims = db, provider, terms, claims
        self.currency = currency.lower()
        self.creator_share_bps = creator_share_bps

    # -- deposits -----------------------------------------------------------------------------

    def deposit(self, advertiser_id: str, amount: int) -> tuple[str, Intent]:
        """A payment intent that adds ``amount`` minor units to the advertiser's balance once the
        provider reports it paid; the deposit's id and the intent."""
        currency = check_money(amount, self.currency, allowed=[self.currency], maximum=self.terms.max_amount)
        deposit_id = new_id()
        intent = self.provider.create_intent(
            tip_id=f"ad-{deposit_id}",
            amount=amount,
            currency=currency,
            metadata={"ad_deposit": deposit_id, "advertiser_id": advertiser_id},
        )
        return deposit_id, intent

    def balance(self, advertiser_id: str) -> int:
        """The advertiser's prepaid balance, minor units of the ad currency."""
        with self.db.session() as session:
            return Ledger.balance(session, advertiser(advertiser_id), self.currency)

    def balances(self, session: Session, advertiser_ids: Sequence[str]) -> dict[str, int]:
        """``{advertiser id: balance}`` in minor units (advertisers never credited left out)."""
        found = Ledger.balances(session, [advertiser(a) for a in advertiser_ids])
        return {
            account.split(":", 1)[1]: value
            for (account, currency), value in found.items()
            if currency == self.currency
        }

    def is_member(self, viewer_id: str) -> bool:
        with self.db.session() as session:
            return has_membership(session, viewer_id)

    # -- spend ------------------------------------------------------------------------------

    @staticmethod
    def booked(session: Session, campaign_id: str, batch: str) -> bool:
        reference = f"ad:{campaign_id}:{batch}"
        found = session.execute(
            sa.select(LedgerTransaction.id).where(LedgerTransaction.reference == reference)
        )
        return found.first() is not None

    def book(
        self,
        session: Session,
        *,
        campaign_id: str,
        advertiser_id: str,
        batch: str,
        before_millis: int,
        spent_millis: int,
        videos: Mapping[str, int],
    ) -> Booking | None:
        """Book a batch of a campaign's spend (``spent_millis``, of which each video carried
        ``videos[id]``); None when this batch is booked already. ``before_millis`` is what the
        campaign had spent before it, so whole minor units are booked and the rest carried."""
        if self.booked(session, campaign_id, batch):
            return None
        amount = (before_millis + spent_millis) // 1000 - before_millis // 1000
        if amount <= 0:
            return Booking(0, 0)
        weights = {video: millis for video, millis in videos.items() if millis > 0} or {"": 1}
        per_video = allocate(amount, weights)
        ids = [v for v in per_video if v]
        owners = {
            v: o for v, o in session.execute(sa.select(Video.id, Video.owner_id).where(Video.id.in_(ids)))
        }
        holders = self.claims.holders(session, sorted(ids))
        shares: list[Share] = []
        platform = 0
        for video_id, part in sorted(per_video.items()):
            owner = owners.get(video_id)
            creator = part * self.creator_share_bps // 10_000 if owner else 0
            if creator and video_id in holders:
                for user_id, n in allocate(creator, {h: 1 for h in holders[video_id]}).items():
                    if n:
                        shares.append(Share(user_id, video_id, "claimant", n))
            elif creator and owner:
                shares.append(Share(owner, video_id, "creator", creator))
            platform += part - creator
        entries = Ledger.drain(session, self.currency, amount, [advertiser(advertiser_id), LOSSES])
        entries += [(available(s.user_id), s.amount) for s in shares]
        entries.append((ADS, platform))
        Ledger.post(
            session,
            reference=f"ad:{campaign_id}:{batch}",
            kind="ads",
            currency=self.currency,
            entries=entries,
            memo=f"ads of campaign {campaign_id}",
        )
        return Booking(amount, platform, shares)

    def charged(self, session: Session, campaign_id: str) -> int:
        """Minor units the ledger took from the advertiser for the campaign (its batches' debits)."""
        total = session.execute(
            sa.select(sa.func.coalesce(sa.func.sum(LedgerPosting.amount), 0))
            .join(LedgerTransaction, LedgerTransaction.id == LedgerPosting.transaction_id)
            .where(
                LedgerTransaction.reference.like(f"ad:{campaign_id}:%"),
                LedgerPosting.amount > 0,
            )
        ).scalar_one()
        return int(total)
