"""Where ad money moves: a small port, so that the payments ledger can take it over.

``AdSpend`` is what the ads domain asks of money: an advertiser prepays a campaign's budget, a
flush charges a campaign for the impressions it delivered, and that charge is shared out to the
creator whose video carried the ads (or the Content-ID claimant who monetizes it) and to the
platform. ``LocalAdSpend`` records those movements in the ads domain's own ``ad_spend_entries``
table; nothing here holds a balance. Wiring the payments ledger (issue #17) means an
implementation whose ``prepay`` moves the budget from the advertiser's balance (refusing when it
is short) and whose ``charge``/``share`` post ledger entries, handed to ``AdService`` instead.
Every call runs inside the caller's transaction (``session``), so a flush and its spend records
commit together. Amounts are millis (a thousandth of the currency's minor unit).
"""

from __future__ import annotations

from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.ads.models import AdSpendEntry

__all__ = ["AdSpend", "LocalAdSpend"]


class AdSpend(Protocol):
    def prepay(
        self, session: Session, advertiser_id: str, campaign_id: str, amount: int, currency: str
    ) -> None:
        """Set ``amount`` minor units aside for a campaign (its budget) from the advertiser."""

    def charge(
        self, session: Session, campaign_id: str, advertiser_id: str, millis: int, currency: str
    ) -> None:
        """The campaign spent ``millis`` on impressions."""

    def share(
        self,
        session: Session,
        campaign_id: str,
        user_id: str | None,
        millis: int,
        currency: str,
        *,
        video_id: str,
        role: str,
    ) -> None:
        """Part of a charge goes to ``user_id`` (``role``: creator or claimant), or with
        ``user_id`` None to the platform."""

    def earned(self, session: Session, user_id: str) -> dict[str, int]:
        """Millis a user earned from ads, by currency."""


class LocalAdSpend:
    """Records each movement as a row of ``ad_spend_entries``."""

    def prepay(
        self, session: Session, advertiser_id: str, campaign_id: str, amount: int, currency: str
    ) -> None:
        session.add(
            AdSpendEntry(
                kind="prepay",
                campaign_id=campaign_id,
                user_id=advertiser_id,
                currency=currency,
                amount_millis=amount * 1000,
            )
        )

    def charge(
        self, session: Session, campaign_id: str, advertiser_id: str, millis: int, currency: str
    ) -> None:
        session.add(
            AdSpendEntry(
                kind="charge",
                campaign_id=campaign_id,
                user_id=advertiser_id,
                currency=currency,
                amount_millis=millis,
            )
        )

    def share(
        self,
        session: Session,
        campaign_id: str,
        user_id: str | None,
        millis: int,
        currency: str,
        *,
        video_id: str,
        role: str,
    ) -> None:
        session.add(
            AdSpendEntry(
                kind="share",
                campaign_id=campaign_id,
                user_id=user_id,
                video_id=video_id,
                role=role,
                currency=currency,
                amount_millis=millis,
            )
        )

    def earned(self, session: Session, user_id: str) -> dict[str, int]:
        rows = session.execute(
            sa.select(AdSpendEntry.currency, sa.func.sum(AdSpendEntry.amount_millis))
            .where(AdSpendEntry.user_id == user_id, AdSpendEntry.kind == "share")
            .group_by(AdSpendEntry.currency)
        )
        return {currency: int(total or 0) for currency, total in rows}
