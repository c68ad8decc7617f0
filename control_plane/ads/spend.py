"""Where ad money moves: the payments ledger, through a small port the ads domain owns.

The ads domain counts impressions and spend (millis, a thousandth of a minor unit); the money is
the payments domain's. ``AdSpend`` is what the ads domain asks of it, implemented by
``control_plane.payments.advertising.AdMoney``: the advertisers' prepaid balances (which the
decision holds spend to, with the campaigns' budgets), the booking of a flushed batch of spend
(from the advertiser's balance to the creator or monetizing claimant and the platform, once per
batch), what the ledger took for a campaign, and whether a viewer is a paying member (the
``members`` audience). ``book`` runs inside the flush's transaction, so the counts and the money
commit together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from sqlalchemy.orm import Session

__all__ = ["AdSpend", "Booked", "Shared"]


class Shared(Protocol):
    """Part of a batch credited to ``user_id`` for ``video_id`` (``role``: creator or claimant)."""

    @property
    def user_id(self) -> str: ...
    @property
    def video_id(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def amount(self) -> int: ...


class Booked(Protocol):
    """What a batch booked, minor units: taken from the advertiser, the platform's part, shares."""

    @property
    def amount(self) -> int: ...
    @property
    def platform(self) -> int: ...
    @property
    def shares(self) -> Sequence[Shared]: ...


class AdSpend(Protocol):
    def balances(self, session: Session, advertiser_ids: Sequence[str]) -> dict[str, int]:
        """Prepaid balances of the advertisers, minor units of the ad currency."""
        ...

    def booked(self, session: Session, campaign_id: str, batch: str) -> bool:
        """Whether the batch ``batch`` of the campaign's spend moved money already."""
        ...

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
    ) -> Booked | None:
        """Move a batch of spend; None when the batch was booked already."""
        ...

    def charged(self, session: Session, campaign_id: str) -> int:
        """Minor units the ledger took for the campaign."""
        ...

    def is_member(self, viewer_id: str) -> bool:
        """Whether the viewer is a paying member of some channel now."""
        ...
