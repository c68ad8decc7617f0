"""What the payments domain tells the rest of the plane through the events hub, once committed.

The notifications domain subscribes to these (a tip's message reaches its creator as a
``payment`` notification); ids, amounts in minor units and plain values only.
"""

from __future__ import annotations

from dataclasses import dataclass

from control_plane.core.events import Event

__all__ = ["MembershipChanged", "PaymentReceived", "PayoutSent", "TipReceived"]


@dataclass(frozen=True)
class PaymentReceived(Event):
    """Money reached the platform for ``creator_id``: ``kind`` is ``membership`` or ``tip``."""

    creator_id: str
    payer_id: str | None
    kind: str
    amount: int
    currency: str
    reference: str


@dataclass(frozen=True)
class TipReceived(PaymentReceived):
    """A tip, with the tipper's message (None when they left none)."""

    tip_id: str = ""
    message: str | None = None


@dataclass(frozen=True)
class MembershipChanged(Event):
    """A membership began, renewed, lapsed or ended; ``status`` is its new status."""

    membership_id: str
    creator_id: str
    member_id: str
    status: str


@dataclass(frozen=True)
class PayoutSent(Event):
    payout_id: str
    creator_id: str
    amount: int
    currency: str
    month: str
