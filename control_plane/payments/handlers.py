"""What each provider event does, inside the transaction that also records the event as applied.

A handler reads the event's object, changes memberships, tips, charges, payouts and accounts, and
books the money on the ledger. It returns ``applied`` or ``ignored`` (not ours, or already so), or
raises :class:`Held` when the event refers to an object not known yet (an invoice of a
subscription whose checkout has not been reported): the event waits and is applied when an event
that makes that object known has been. Every ledger transaction has a reference derived from the
provider's ids, so the same fact cannot be booked twice even through two different events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.accounts.models import User
from control_plane.core.db import utcnow
from control_plane.core.events import Event
from control_plane.payments.advertising import advertiser
from control_plane.payments.events import MembershipChanged, PaymentReceived, TipReceived
from control_plane.payments.ledger import (
    FEES,
    IN_TRANSIT,
    LOSSES,
    PAID_OUT,
    POOL,
    PROVIDER,
    Ledger,
    available,
    pending,
)
from control_plane.payments.memberships import Terms
from control_plane.payments.models import (
    Charge,
    ConnectedAccount,
    LedgerTransaction,
    Membership,
    Payout,
    Plan,
    Tip,
)
from control_plane.payments.money import Split, split

__all__ = ["HANDLERS", "Applied", "Held", "handle"]

STATUSES = {
    "active": "active",
    "trialing": "active",
    "past_due": "past_due",
    "unpaid": "past_due",
    "canceled": "ended",
    "incomplete_expired": "ended",
    "incomplete": "pending",
    "paused": "past_due",
}


class Held(Exception):
    """The event refers to ``key`` (``sub:…``, ``charge:…``), not known yet."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass
class Applied:
    """What applying an event did: its outcome, the hub events to publish after the commit, and
    the objects it made known (held events waiting for them are applied next)."""

    outcome: str = "applied"
    events: list[Event] = field(default_factory=list)
    known: list[str] = field(default_factory=list)


@dataclass
class Context:
    session: Session
    terms: Terms
    event: dict[str, Any]
    now: datetime

    @property
    def obj(self) -> dict[str, Any]:
        return dict(self.event["data"]["object"])


def _id(value: Any) -> str | None:
    """An expandable field: an id, or the object that carries it."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _when(seconds: Any) -> datetime | None:
    return datetime.fromtimestamp(int(seconds), UTC) if isinstance(seconds, int | float) and seconds else None


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return max(x for x in (a, b) if x is not None) if (a or b) else None


def _membership(ctx: Context, ref: str | None, metadata: dict[str, Any] | None = None) -> Membership | None:
    session = ctx.session
    if ref:
        found = session.execute(
            sa.select(Membership).where(Membership.subscription_ref == ref).with_for_update()
        ).scalar_one_or_none()
        if found is not None:
            return found
    membership_id = (metadata or {}).get("membership_id")
    if isinstance(membership_id, str):
        found = session.get(Membership, membership_id, with_for_update=True)
        if found is not None and ref and found.subscription_ref is None:
            found.subscription_ref = ref
        return found
    return None


def _changed(m: Membership) -> MembershipChanged:
    return MembershipChanged(
        membership_id=m.id, creator_id=m.creator_id, member_id=m.member_id, status=m.status
    )


# -- money ---------------------------------------------------------------------------------


def book_payment(
    ctx: Context,
    *,
    charge_id: str,
    intent: str | None,
    kind: str,
    creator_id: str,
    payer_id: str | None,
    amount: int,
    currency: str,
) -> bool:
    """Record the charge and book it: the provider's side pays the creator (pending), the fee
    and the pool. False when this charge was booked already."""
    session = ctx.session
    if session.get(Charge, charge_id) is not None:
        return False
    parts = split(amount, ctx.terms.fee_bps, ctx.terms.pool_bps)
    session.add(
        Charge(
            id=charge_id,
            intent_ref=intent,
            kind=kind,
            creator_id=creator_id,
            payer_id=payer_id,
            currency=currency,
            amount=amount,
            net=parts.creator,
            fee=parts.fee,
            pool=parts.pool,
            available_at=ctx.now + timedelta(days=ctx.terms.hold_days),
        )
    )
    session.flush()
    Ledger.post(
        session,
        reference=f"charge:{charge_id}",
        kind=kind,
        currency=currency,
        entries=[
            (PROVIDER, -amount),
            (pending(creator_id), parts.creator),
            (FEES, parts.fee),
            (POOL, parts.pool),
        ],
        memo=f"{kind} {charge_id}",
    )
    return True


def book_deposit(
    ctx: Context, *, charge_id: str, intent: str, advertiser_id: str, amount: int, currency: str
) -> bool:
    """Record an advertiser's deposit and credit their prepaid balance; False when this charge was
    booked already. The whole amount is theirs (no fee, no hold): it pays for ads."""
    session = ctx.session
    if session.get(Charge, charge_id) is not None:
        return False
    session.add(
        Charge(
            id=charge_id,
            intent_ref=intent,
            kind="ad_deposit",
            creator_id=advertiser_id,
            payer_id=advertiser_id,
            currency=currency,
            amount=amount,
            net=amount,
            fee=0,
            pool=0,
            available_at=ctx.now,
            released=True,
        )
    )
    session.flush()
    Ledger.post(
        session,
        reference=f"charge:{charge_id}",
        kind="ad_deposit",
        currency=currency,
        entries=[(PROVIDER, -amount), (advertiser(advertiser_id), amount)],
        memo=f"ad deposit {charge_id}",
    )
    return True


def _holders(charge: Charge) -> list[str]:
    """Where the payee's part of a charge is taken back from, in order (the last absorbs the rest)."""
    if charge.kind == "ad_deposit":
        return [advertiser(charge.creator_id), LOSSES]
    return [pending(charge.creator_id), available(charge.creator_id), LOSSES]


def reverse(ctx: Context, charge: Charge, amount: int, *, reference: str, kind: str) -> None:
    """Take ``amount`` of the charge back to the provider's side, each share in proportion: the
    creator's from pending, then available (an advertiser's deposit from their balance), the rest
    absorbed by the platform (losses)."""
    parts = Split(charge.net, charge.fee, charge.pool).part(amount)
    session, currency = ctx.session, charge.currency
    entries = [(PROVIDER, parts.total)]
    entries += Ledger.drain(session, currency, parts.creator, _holders(charge))
    entries += Ledger.drain(session, currency, parts.fee, [FEES, LOSSES])
    entries += Ledger.drain(session, currency, parts.pool, [POOL, LOSSES])
    Ledger.post(
        session,
        reference=reference,
        kind=kind,
        currency=currency,
        entries=entries,
        memo=f"{kind} of {charge.id}",
    )


def _charge(ctx: Context, charge_id: str | None, intent: str | None = None) -> Charge | None:
    session = ctx.session
    if charge_id:
        found = session.get(Charge, charge_id, with_for_update=True)
        if found is not None:
            return found
    if intent:
        return session.execute(
            sa.select(Charge).where(Charge.intent_ref == intent).with_for_update()
        ).scalar_one_or_none()
    return None


# -- handlers ---------------------------------------------------------------------------------


def checkout_completed(ctx: Context) -> Applied:
    obj = ctx.obj
    if obj.get("mode") != "subscription":
        return Applied("ignored")
    ref = _id(obj.get("subscription"))
    metadata = {
        "membership_id": obj.get("client_reference_id") or (obj.get("metadata") or {}).get("membership_id")
    }
    membership = _membership(ctx, ref, metadata)
    if membership is None or ref is None:
        return Applied("ignored")
    if membership.status == "pending":
        membership.status = "active"
    return Applied(events=[_changed(membership)], known=[f"sub:{ref}"])


def subscription_changed(ctx: Context) -> Applied:
    obj = ctx.obj
    ref = _id(obj.get("id"))
    membership = _membership(ctx, ref, obj.get("metadata"))
    if membership is None:
        raise Held(f"sub:{ref}")
    created = int(ctx.event.get("created") or 0)
    if created < membership.event_at:
        return Applied("ignored")  # a newer state of this subscription is applied already
    membership.event_at = created
    deleted = ctx.event["type"] == "customer.subscription.deleted"
    status = "ended" if deleted else STATUSES.get(str(obj.get("status")), membership.status)
    items = (obj.get("items") or {}).get("data") or [{}]
    period_end = _when(obj.get("current_period_end") or items[0].get("current_period_end"))
    membership.cancel_at_period_end = bool(obj.get("cancel_at_period_end"))
    price = _id((items[0] or {}).get("price")) or _id((items[0] or {}).get("plan"))
    if price:
        plan = ctx.session.execute(
            sa.select(Plan).where(Plan.provider_ref == price, Plan.creator_id == membership.creator_id)
        ).scalar_one_or_none()
        if plan is not None:
            membership.plan_id = plan.id
    if status == "ended":
        membership.access_until = (
            ctx.now if membership.access_until is None else min(membership.access_until, ctx.now)
        )
    elif status == "active" and period_end is not None:
        membership.current_period_end = period_end
        membership.access_until = _later(membership.access_until, period_end)
    membership.status = status
    return Applied(events=[_changed(membership)], known=[f"sub:{ref}"])


def invoice_paid(ctx: Context) -> Applied:
    obj = ctx.obj
    parent = ((obj.get("parent") or {}).get("subscription_details") or {}).get("subscription")
    ref = _id(obj.get("subscription")) or _id(parent)
    if ref is None:
        return Applied("ignored")
    membership = _membership(ctx, ref)
    if membership is None:
        raise Held(f"sub:{ref}")
    result = Applied()
    amount, currency = int(obj.get("amount_paid") or 0), str(obj.get("currency") or "").lower()
    charge_id = _id(obj.get("charge")) or _id(obj.get("payment_intent")) or f"invoice:{obj.get('id')}"
    if amount > 0 and book_payment(
        ctx,
        charge_id=charge_id,
        intent=_id(obj.get("payment_intent")),
        kind="membership",
        creator_id=membership.creator_id,
        payer_id=membership.member_id,
        amount=amount,
        currency=currency,
    ):
        result.events.append(
            PaymentReceived(
                creator_id=membership.creator_id,
                payer_id=membership.member_id,
                kind="membership",
                amount=amount,
                currency=currency,
                reference=charge_id,
            )
        )
        result.known.append(f"charge:{charge_id}")
    lines = (obj.get("lines") or {}).get("data") or []
    ends = [_when((line.get("period") or {}).get("end")) for line in lines]
    period_end = max((e for e in ends if e is not None), default=None)
    if membership.status != "ended":
        membership.status = "active"
        if period_end is not None:
            membership.current_period_end = _later(membership.current_period_end, period_end)
            membership.access_until = _later(membership.access_until, period_end)
    result.events.append(_changed(membership))
    return result


def invoice_failed(ctx: Context) -> Applied:
    obj = ctx.obj
    parent = ((obj.get("parent") or {}).get("subscription_details") or {}).get("subscription")
    ref = _id(obj.get("subscription")) or _id(parent)
    if ref is None:
        return Applied("ignored")
    membership = _membership(ctx, ref)
    if membership is None:
        raise Held(f"sub:{ref}")
    if membership.status == "ended":
        return Applied("ignored")
    membership.status = "past_due"
    membership.access_until = _later(membership.access_until, ctx.now + timedelta(days=ctx.terms.grace_days))
    return Applied(events=[_changed(membership)])


def deposit_succeeded(ctx: Context, advertiser_id: str) -> Applied:
    obj = ctx.obj
    if ctx.session.get(User, advertiser_id) is None:
        return Applied("ignored")  # the account is gone
    charges = (obj.get("charges") or {}).get("data") or [{}]
    charge_id = _id(obj.get("latest_charge")) or _id(charges[0]) or str(obj["id"])
    amount = int(obj.get("amount_received") or obj.get("amount") or 0)
    currency = str(obj.get("currency") or "").lower()
    if amount > 0:
        book_deposit(
            ctx,
            charge_id=charge_id,
            intent=str(obj["id"]),
            advertiser_id=advertiser_id,
            amount=amount,
            currency=currency,
        )
    return Applied(known=[f"charge:{charge_id}", f"pi:{obj['id']}"])


def intent_succeeded(ctx: Context) -> Applied:
    obj = ctx.obj
    metadata = obj.get("metadata") or {}
    if (
        not obj.get("invoice")
        and metadata.get("ad_deposit")
        and isinstance(metadata.get("advertiser_id"), str)
    ):
        return deposit_succeeded(ctx, metadata["advertiser_id"])
    tip_id = metadata.get("tip_id")
    if obj.get("invoice") or not isinstance(tip_id, str):
        return Applied("ignored")  # a subscription's payment: its invoice.paid books it
    tip = ctx.session.get(Tip, tip_id, with_for_update=True)
    if tip is None:
        return Applied("ignored")
    charges = (obj.get("charges") or {}).get("data") or [{}]
    charge_id = _id(obj.get("latest_charge")) or _id(charges[0]) or str(obj["id"])
    amount = int(obj.get("amount_received") or obj.get("amount") or 0)
    currency = str(obj.get("currency") or tip.currency).lower()
    tip.status = "succeeded"
    result = Applied(known=[f"charge:{charge_id}", f"pi:{obj['id']}"])
    if book_payment(
        ctx,
        charge_id=charge_id,
        intent=str(obj["id"]),
        kind="tip",
        creator_id=tip.to_id,
        payer_id=tip.from_id,
        amount=amount,
        currency=currency,
    ):
        result.events.append(
            TipReceived(
                creator_id=tip.to_id,
                payer_id=tip.from_id,
                kind="tip",
                amount=amount,
                currency=currency,
                reference=charge_id,
                tip_id=tip.id,
                message=tip.message,
            )
        )
    return result


def intent_failed(ctx: Context) -> Applied:
    tip_id = (ctx.obj.get("metadata") or {}).get("tip_id")
    tip = ctx.session.get(Tip, tip_id) if isinstance(tip_id, str) else None
    if tip is None or tip.status != "pending":
        return Applied("ignored")
    tip.status = "failed"
    return Applied()


def charge_refunded(ctx: Context) -> Applied:
    obj = ctx.obj
    charge = _charge(ctx, _id(obj.get("id")), _id(obj.get("payment_intent")))
    if charge is None:
        raise Held(f"charge:{obj.get('id')}")
    total = int(obj.get("amount_refunded") or 0)
    delta = min(total, charge.amount - charge.disputed) - charge.refunded
    if delta <= 0:
        return Applied("ignored")
    reverse(ctx, charge, delta, reference=f"refund:{charge.id}:{total}", kind="refund")
    charge.refunded += delta
    return Applied()


def dispute_created(ctx: Context) -> Applied:
    obj = ctx.obj
    charge = _charge(ctx, _id(obj.get("charge")), _id(obj.get("payment_intent")))
    if charge is None:
        raise Held(f"charge:{_id(obj.get('charge'))}")
    amount = min(int(obj.get("amount") or 0), charge.amount - charge.refunded - charge.disputed)
    if amount > 0:
        reverse(ctx, charge, amount, reference=f"dispute:{obj['id']}", kind="dispute")
        charge.disputed += amount
    return Applied(known=[f"dispute:{obj['id']}"])


def dispute_closed(ctx: Context) -> Applied:
    obj = ctx.obj
    opened = ctx.session.execute(
        sa.select(LedgerTransaction.id).where(LedgerTransaction.reference == f"dispute:{obj['id']}")
    ).scalar_one_or_none()
    charge = _charge(ctx, _id(obj.get("charge")), _id(obj.get("payment_intent")))
    if charge is None or opened is None:
        raise Held(f"dispute:{obj['id']}")
    if obj.get("status") != "won":
        return Applied()
    amount = min(int(obj.get("amount") or 0), charge.disputed)
    parts = Split(charge.net, charge.fee, charge.pool).part(amount)
    Ledger.post(
        ctx.session,
        reference=f"dispute:{obj['id']}:won",
        kind="dispute_won",
        currency=charge.currency,
        entries=[
            (PROVIDER, -parts.total),
            (_holders(charge)[-2], parts.creator),
            (FEES, parts.fee),
            (POOL, parts.pool),
        ],
    )
    charge.disputed -= amount
    return Applied()


def payout_settled(ctx: Context) -> Applied:
    obj, account_ref = ctx.obj, ctx.event.get("account")
    if not isinstance(account_ref, str):
        return Applied("ignored")  # the platform's own payout to its bank
    account = ctx.session.execute(
        sa.select(ConnectedAccount).where(ConnectedAccount.account_ref == account_ref)
    ).scalar_one_or_none()
    if account is None:
        return Applied("ignored")
    created = _when(obj.get("created")) or ctx.now
    payouts = ctx.session.execute(
        sa.select(Payout)
        .where(
            Payout.creator_id == account.user_id,
            Payout.status == "in_transit",
            Payout.created_at < created + timedelta(seconds=1),
        )
        .with_for_update()
    ).scalars()
    paid = ctx.event["type"] == "payout.paid"
    for payout in payouts:
        back = available(payout.creator_id)
        Ledger.post(
            ctx.session,
            reference=f"payout-{'paid' if paid else 'failed'}:{payout.id}",
            kind="payout" if paid else "payout_failed",
            currency=payout.currency,
            entries=[(IN_TRANSIT, -payout.amount), (PAID_OUT if paid else back, payout.amount)],
        )
        payout.status = "paid" if paid else "failed"
        if not paid:
            payout.failure = str(obj.get("failure_message") or obj.get("failure_code") or "payout failed")[
                :500
            ]
    return Applied()


def account_updated(ctx: Context) -> Applied:
    obj = ctx.obj
    account = ctx.session.execute(
        sa.select(ConnectedAccount).where(ConnectedAccount.account_ref == obj.get("id")).with_for_update()
    ).scalar_one_or_none()
    if account is None:
        return Applied("ignored")
    account.payouts_enabled = bool(obj.get("payouts_enabled"))
    return Applied()


HANDLERS: dict[str, Callable[[Context], Applied]] = {
    "checkout.session.completed": checkout_completed,
    "customer.subscription.created": subscription_changed,
    "customer.subscription.updated": subscription_changed,
    "customer.subscription.deleted": subscription_changed,
    "invoice.paid": invoice_paid,
    "invoice.payment_succeeded": invoice_paid,  # the older name, which localstripe sends
    "invoice.payment_failed": invoice_failed,
    "payment_intent.succeeded": intent_succeeded,
    "payment_intent.payment_failed": intent_failed,
    "charge.refunded": charge_refunded,
    "charge.dispute.created": dispute_created,
    "charge.dispute.closed": dispute_closed,
    "payout.paid": payout_settled,
    "payout.failed": payout_settled,
    "account.updated": account_updated,
}


def handle(session: Session, terms: Terms, event: dict[str, Any]) -> Applied:
    """Apply ``event`` in ``session``; ``ignored`` for a type the platform does not act on."""
    handler = HANDLERS.get(str(event.get("type")))
    if handler is None:
        return Applied("ignored")
    return handler(Context(session=session, terms=terms, event=event, now=utcnow()))
