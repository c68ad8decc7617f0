"""The payments domain wired from the settings: provider, terms and services."""

from __future__ import annotations

from dataclasses import dataclass

from control_plane.core.db import Database
from control_plane.core.events import EventHub
from control_plane.core.settings import Settings
from control_plane.payments.advertising import AdMoney
from control_plane.payments.earned import EarnedReport
from control_plane.payments.memberships import MembershipService, Terms, is_member
from control_plane.payments.payouts import PayoutService
from control_plane.payments.providers import LocalProvider, PaymentProvider, open_provider
from control_plane.payments.revenue import MonetizeClaims, RecordedWatchTime
from control_plane.payments.webhooks import WebhookService

__all__ = ["Payments", "build_payments", "is_member", "terms_of"]


def terms_of(settings: Settings) -> Terms:
    return Terms(
        fee_bps=settings.payments_fee_bps,
        pool_bps=settings.payments_pool_bps,
        hold_days=settings.payments_hold_days,
        grace_days=settings.payments_grace_days,
        payout_minimum=settings.payments_payout_minimum,
        currencies=tuple(settings.payments_currencies),
        max_amount=settings.payments_max_amount,
        public_url=settings.effective_public_url,
    )


@dataclass(frozen=True)
class Payments:
    provider: PaymentProvider
    terms: Terms
    memberships: MembershipService
    webhooks: WebhookService
    payouts: PayoutService
    #: What creators earned over a range of days (creator analytics' revenue).
    earned: EarnedReport
    #: Advertisers' prepaid balances and the booking of ad spend.
    ads: AdMoney

    @property
    def local(self) -> LocalProvider | None:
        """The local provider, when it is the one in use (its pages and the periodic renewals)."""
        return self.provider if isinstance(self.provider, LocalProvider) else None

    def tick(self) -> dict[str, object]:
        """The periodic maintenance: local renewals, event retries, releases of held earnings."""
        renewed = self.local.renew_due() if self.local is not None else 0
        return {"renewed": renewed, "retried": self.webhooks.retry(), "released": self.payouts.release()}


def build_payments(db: Database, settings: Settings, events: EventHub) -> Payments:
    url = settings.payments_url.get_secret_value() if settings.payments_url is not None else None
    provider = open_provider(url, db, settings.secret_bytes, settings.effective_public_url)
    terms = terms_of(settings)
    webhooks = WebhookService(db, provider, terms, events)
    if isinstance(provider, LocalProvider):
        provider.attach(webhooks.receive)
    claims = MonetizeClaims()
    return Payments(
        provider=provider,
        terms=terms,
        memberships=MembershipService(db, provider, terms),
        webhooks=webhooks,
        payouts=PayoutService(db, provider, terms, events, watch_time=RecordedWatchTime(), claims=claims),
        ads=AdMoney(
            db,
            provider,
            terms,
            currency=settings.ads_currency,
            creator_share_bps=round(settings.ads_creator_share * 10_000),
            claims=claims,
        ),
        earned=EarnedReport(db),
    )
