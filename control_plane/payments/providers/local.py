"""The local provider: the embedded default's stand-in for Stripe, as Dramatiq's stub broker
stands beside its Redis broker.

It keeps its objects (checkout sessions, subscriptions, payment intents, charges, connected
accounts) in the platform's database and reports what happens with Stripe-shaped events, signed
with Stripe's scheme under a secret derived from the platform's own, and handed to the same
webhook path a Stripe delivery takes (``deliver(raw_body, signature_header)``). No money moves:
its checkout page and its payment-intent confirmation stand for the card form.

Renewals happen when :meth:`LocalProvider.renew_due` runs (the periodic ``payments.tick``): a
subscription whose period has ended is charged for the next one, or ended when it was cancelled
at period end; :meth:`decline` makes the next charges of a subscription fail (a card that stops
working), for trying grace periods.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from control_plane.core.db import Database, utcnow
from control_plane.core.errors import NotFound
from control_plane.payments.models import LocalObject
from control_plane.payments.proration import prorate
from control_plane.payments.providers.base import Checkout, Intent, PlanSpec, sign, verify

__all__ = ["LocalProvider", "local_secret"]

log = logging.getLogger(__name__)

Deliver = Callable[[bytes, str], object]
PERIODS = {"month": timedelta(days=30), "year": timedelta(days=365)}


def local_secret(platform_secret: bytes) -> str:
    """The local provider's webhook secret, derived from the platform's secret key."""
    return "whsec_" + hmac.new(platform_secret, b"payments-local-webhook", hashlib.sha256).hexdigest()


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


class LocalProvider:
    """Stripe's behaviour for the objects the platform uses, without Stripe."""

    name = "local"

    def __init__(self, db: Database, secret: str, public_url: str) -> None:
        self.db = db
        self.secret = secret
        self.public_url = public_url.rstrip("/")
        self._deliver: Deliver | None = None

    def attach(self, deliver: Deliver) -> None:
        """Where signed events go (the webhook service's ``receive``), set at wiring."""
        self._deliver = deliver

    # -- objects ---------------------------------------------------------------------------

    def _new(self, prefix: str, kind: str, data: dict[str, Any]) -> str:
        ref = f"{prefix}_{secrets.token_hex(12)}"
        with self.db.session() as session:
            session.add(LocalObject(id=ref, kind=kind, data=data))
        return ref

    def get_object(self, ref: str, kind: str) -> dict[str, Any]:
        with self.db.session() as session:
            obj = session.get(LocalObject, ref)
            if obj is None or obj.kind != kind:
                raise NotFound(f"No such {kind}.", code="LOCAL_OBJECT_NOT_FOUND")
            return dict(obj.data)

    def _put(self, ref: str, data: dict[str, Any]) -> None:
        with self.db.session() as session:
            session.execute(sa.update(LocalObject).where(LocalObject.id == ref).values(data=data))

    def emit(self, type_: str, obj: dict[str, Any], *, account: str | None = None) -> str:
        """Sign a Stripe-shaped event about ``obj`` and deliver it; returns the event id."""
        event: dict[str, Any] = {
            "id": f"evt_{secrets.token_hex(12)}",
            "object": "event",
            "type": type_,
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": obj},
        }
        if account:
            event["account"] = account
        payload = json.dumps(event, separators=(",", ":")).encode()
        if self._deliver is None:
            raise RuntimeError("the local payment provider has nowhere to deliver its events")
        self._deliver(payload, sign(payload, self.secret))
        return str(event["id"])

    # -- the interface ---------------------------------------------------------------------

    def verify(self, payload: bytes, header: str | None) -> dict[str, Any]:
        return verify(payload, header, self.secret)

    def create_plan(self, plan: PlanSpec) -> str:
        return f"lplan_{plan.plan_id}"

    def checkout(
        self, *, membership_id: str, plan: PlanSpec, member_id: str, success_url: str, cancel_url: str
    ) -> Checkout:
        data = {
            "membership_id": membership_id,
            "plan": plan.__dict__,
            "member_id": member_id,
            "success_url": success_url,
            "status": "open",
        }
        ref = self._new("lcs", "checkout", data)
        return Checkout(ref=ref, url=f"{self.public_url}/api/v1/payments/local/checkout/{ref}")

    def change_plan(self, subscription_ref: str, plan: PlanSpec) -> None:
        sub = self.get_object(subscription_ref, "subscription")
        now = utcnow()
        start, end = datetime.fromisoformat(sub["period_start"]), datetime.fromisoformat(sub["period_end"])
        difference = prorate(
            sub["plan"]["amount"], plan.amount, (end - now).total_seconds(), (end - start).total_seconds()
        )
        sub["plan"] = plan.__dict__
        if difference < 0:
            sub["credit"] = sub.get("credit", 0) - difference  # Stripe credits the customer's balance
        self._put(subscription_ref, sub)
        self.emit("customer.subscription.updated", self._subscription(subscription_ref, sub))
        if difference > 0:
            self._invoice(subscription_ref, sub, difference, end)

    def cancel_at_period_end(self, subscription_ref: str) -> None:
        sub = self.get_object(subscription_ref, "subscription")
        sub["cancel_at_period_end"] = True
        self._put(subscription_ref, sub)
        self.emit("customer.subscription.updated", self._subscription(subscription_ref, sub))

    def create_intent(self, *, tip_id: str, amount: int, currency: str, metadata: dict[str, str]) -> Intent:
        client_secret = secrets.token_urlsafe(24)
        data = {
            "amount": amount,
            "currency": currency,
            "metadata": metadata,
            "status": "requires_payment_method",
            "client_secret": client_secret,
        }
        ref = self._new("lpi", "intent", data)
        return Intent(ref=ref, client_secret=f"{ref}_secret_{client_secret}")

    def connect_account(self, user_id: str, email: str) -> str:
        return self._new("lacct", "account", {"user_id": user_id, "payouts_enabled": False})

    def onboarding_link(self, account_ref: str, *, return_url: str, refresh_url: str) -> str:
        self.get_object(account_ref, "account")
        return f"{self.public_url}/api/v1/payments/local/onboarding/{account_ref}"

    def transfer(self, *, account_ref: str, amount: int, currency: str, key: str) -> str:
        with self.db.session() as session:
            existing = session.execute(
                sa.select(LocalObject.id).where(
                    LocalObject.kind == "transfer", LocalObject.data["key"].as_string() == key
                )
            ).scalar_one_or_none()
        if existing is not None:
            return str(existing)
        ref = self._new(
            "ltr", "transfer", {"account": account_ref, "amount": amount, "currency": currency, "key": key}
        )
        # a connected account's automatic payout of what it received
        payout = {
            "id": f"lpo_{secrets.token_hex(12)}",
            "object": "payout",
            "amount": amount,
            "currency": currency,
            "status": "paid",
            "created": int(time.time()),
        }
        self.emit("payout.paid", payout, account=account_ref)
        return ref

    # -- what the card form, the bank and the clock do ---------------------------------------

    def complete_checkout(self, ref: str) -> None:
        """The member paid on the checkout page: the subscription starts and its first invoice is paid."""
        session = self.get_object(ref, "checkout")
        if session["status"] != "open":
            return
        session["status"] = "complete"
        self._put(ref, session)
        now = utcnow()
        plan = session["plan"]
        sub = {
            "membership_id": session["membership_id"],
            "plan": plan,
            "status": "active",
            "period_start": now.isoformat(),
            "period_end": (now + PERIODS[plan["interval"]]).isoformat(),
            "cancel_at_period_end": False,
            "credit": 0,
            "declines": False,
        }
        sub_ref = self._new("lsub", "subscription", sub)
        self.emit(
            "checkout.session.completed",
            {
                "id": ref,
                "object": "checkout.session",
                "mode": "subscription",
                "status": "complete",
                "client_reference_id": session["membership_id"],
                "subscription": sub_ref,
                "metadata": {"membership_id": session["membership_id"]},
            },
        )
        self.emit("customer.subscription.created", self._subscription(sub_ref, sub))
        self._invoice(sub_ref, sub, plan["amount"], datetime.fromisoformat(sub["period_end"]))

    def confirm_intent(self, ref: str, client_secret: str, *, succeed: bool = True) -> str:
        """The payer's client confirmed the intent; ``succeed`` False is a declined card."""
        intent = self.get_object(ref, "intent")
        if not hmac.compare_digest(f"{ref}_secret_{intent['client_secret']}", client_secret):
            raise NotFound("No such payment intent.", code="LOCAL_OBJECT_NOT_FOUND")
        if intent["status"] == "succeeded":
            return str(intent["status"])
        obj = {
            "id": ref,
            "object": "payment_intent",
            "amount": intent["amount"],
            "currency": intent["currency"],
            "metadata": intent["metadata"],
            "invoice": None,
        }
        if succeed:
            charge = f"lch_{secrets.token_hex(12)}"
            intent["status"], intent["charge"] = "succeeded", charge
            obj.update(status="succeeded", latest_charge=charge, amount_received=intent["amount"])
        else:
            intent["status"] = "requires_payment_method"
            obj.update(status="requires_payment_method", last_payment_error={"code": "card_declined"})
        self._put(ref, intent)
        self.emit("payment_intent.succeeded" if succeed else "payment_intent.payment_failed", obj)
        return str(intent["status"])

    def complete_onboarding(self, account_ref: str) -> None:
        account = self.get_object(account_ref, "account")
        account["payouts_enabled"] = True
        self._put(account_ref, account)
        self.emit(
            "account.updated",
            {
                "id": account_ref,
                "object": "account",
                "payouts_enabled": True,
                "charges_enabled": True,
                "metadata": {"user_id": account["user_id"]},
            },
        )

    def decline(self, subscription_ref: str, declines: bool = True) -> None:
        sub = self.get_object(subscription_ref, "subscription")
        sub["declines"] = declines
        self._put(subscription_ref, sub)

    def renew_due(self, now: datetime | None = None) -> int:
        """Charge or end every subscription whose period has ended by ``now``; how many changed."""
        now = now or utcnow()
        with self.db.session() as session:
            due = [
                (obj.id, dict(obj.data))
                for obj in session.execute(
                    sa.select(LocalObject).where(LocalObject.kind == "subscription")
                ).scalars()
                if obj.data["status"] in ("active", "past_due")
                and datetime.fromisoformat(obj.data["period_end"]) <= now
            ]
        for ref, sub in due:
            end = datetime.fromisoformat(sub["period_end"])
            if sub["cancel_at_period_end"] or (sub["status"] == "past_due" and sub["declines"]):
                sub["status"] = "canceled"
                self._put(ref, sub)
                self.emit("customer.subscription.deleted", self._subscription(ref, sub))
                continue
            if sub["declines"]:
                sub["status"] = "past_due"
                self._put(ref, sub)
                self._invoice(ref, sub, sub["plan"]["amount"], end, failed=True)
                self.emit("customer.subscription.updated", self._subscription(ref, sub))
                continue
            period = PERIODS[sub["plan"]["interval"]]
            sub.update(status="active", period_start=end.isoformat(), period_end=(end + period).isoformat())
            amount = max(0, sub["plan"]["amount"] - sub.get("credit", 0))
            sub["credit"] = max(0, sub.get("credit", 0) - sub["plan"]["amount"])
            self._put(ref, sub)
            self.emit("customer.subscription.updated", self._subscription(ref, sub))
            self._invoice(ref, sub, amount, end + period)
        return len(due)

    def refund(self, charge_ref: str, amount_refunded: int, *, amount: int, currency: str) -> None:
        """The platform refunded part of a charge: ``amount_refunded`` is the new total refunded."""
        self.emit(
            "charge.refunded",
            {
                "id": charge_ref,
                "object": "charge",
                "amount": amount,
                "amount_refunded": amount_refunded,
                "currency": currency,
                "refunded": amount_refunded >= amount,
            },
        )

    # -- event bodies --------------------------------------------------------------------------

    def _subscription(self, ref: str, sub: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": ref,
            "object": "subscription",
            "status": sub["status"],
            "cancel_at_period_end": sub["cancel_at_period_end"],
            "current_period_start": _ts(datetime.fromisoformat(sub["period_start"])),
            "current_period_end": _ts(datetime.fromisoformat(sub["period_end"])),
            "metadata": {"membership_id": sub["membership_id"]},
            "items": {
                "data": [{"price": {"id": sub["plan"]["plan_id"] and f"lplan_{sub['plan']['plan_id']}"}}]
            },
        }

    def _invoice(
        self, sub_ref: str, sub: dict[str, Any], amount: int, period_end: datetime, *, failed: bool = False
    ) -> None:
        invoice = {
            "id": f"lin_{secrets.token_hex(12)}",
            "object": "invoice",
            "subscription": sub_ref,
            "amount_paid": 0 if failed else amount,
            "amount_due": amount,
            "currency": sub["plan"]["currency"],
            "status": "open" if failed else "paid",
            "charge": None if failed else f"lch_{secrets.token_hex(12)}",
            "lines": {"data": [{"period": {"end": _ts(period_end)}}]},
        }
        self.emit("invoice.payment_failed" if failed else "invoice.paid", invoice)
