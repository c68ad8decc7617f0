"""The payment provider interface, and the webhook signature scheme both providers share.

A provider makes the objects money moves through (prices, checkouts, subscriptions, payment
intents, connected accounts, transfers) and tells the platform what happened through signed
events posted to ``/api/v1/payments/webhooks/stripe``. The Stripe provider is the real one; the
local provider (the embedded default) keeps its objects in the database and signs its events
with the same scheme, so the webhook path is one and the same.

The scheme is Stripe's: ``Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<raw body>" under the endpoint secret>``; a signature older than the tolerance is refused.
Verification uses the ``stripe`` library's own ``WebhookSignature``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any, Protocol

import stripe

from control_plane.payments.errors import SignatureInvalid

__all__ = ["TOLERANCE", "Checkout", "Intent", "PaymentProvider", "PlanSpec", "sign", "verify"]

#: Seconds a webhook signature stays acceptable (Stripe's default).
TOLERANCE = 300


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header for ``payload`` signed with ``secret`` at ``timestamp``."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(payload: bytes, header: str | None, secret: str, tolerance: int = TOLERANCE) -> dict[str, Any]:
    """The event in ``payload`` if ``header`` signs it with ``secret`` within ``tolerance`` seconds;
    ``SignatureInvalid`` (400) otherwise, and for a body that is not an event."""
    if not header:
        raise SignatureInvalid("The Stripe-Signature header is missing.")
    try:
        text = payload.decode("utf-8")
        stripe.WebhookSignature.verify_header(text, header, secret, tolerance)
        event = json.loads(text)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as exc:
        raise SignatureInvalid("The Stripe-Signature does not match this body, secret and time.") from exc
    if (
        not isinstance(event, dict)
        or not isinstance(event.get("id"), str)
        or not isinstance(event.get("type"), str)
    ):
        raise SignatureInvalid("The signed body is not an event.")
    if not isinstance(event.get("data"), dict) or not isinstance(event["data"].get("object"), dict):
        raise SignatureInvalid("The signed event has no data object.")
    return event


@dataclass(frozen=True)
class PlanSpec:
    plan_id: str
    creator_id: str
    name: str
    amount: int
    currency: str
    interval: str
    #: The provider's id of the plan's price, once made.
    ref: str | None = None


@dataclass(frozen=True)
class Checkout:
    ref: str
    url: str


@dataclass(frozen=True)
class Intent:
    ref: str
    client_secret: str


class PaymentProvider(Protocol):
    """What the payments domain asks of a provider. Every call may raise ``ProviderFailed``."""

    name: str

    def verify(self, payload: bytes, header: str | None) -> dict[str, Any]:
        """The event ``payload`` holds, if ``header`` signs it (see :func:`verify`)."""
        ...

    def create_plan(self, plan: PlanSpec) -> str:
        """The provider's price for the plan; its id."""
        ...

    def checkout(
        self, *, membership_id: str, plan: PlanSpec, member_id: str, success_url: str, cancel_url: str
    ) -> Checkout:
        """A hosted checkout that subscribes the member; its events name ``membership_id``."""
        ...

    def change_plan(self, subscription_ref: str, plan: PlanSpec) -> None:
        """Move the subscription to ``plan`` now, pro-rated (the difference is invoiced or credited)."""
        ...

    def cancel_at_period_end(self, subscription_ref: str) -> None: ...

    def create_intent(self, *, tip_id: str, amount: int, currency: str, metadata: dict[str, str]) -> Intent:
        """A payment intent the payer's client confirms with its ``client_secret``."""
        ...

    def connect_account(self, user_id: str, email: str) -> str:
        """A connected account for the creator's payouts; its id."""
        ...

    def onboarding_link(self, account_ref: str, *, return_url: str, refresh_url: str) -> str: ...

    def transfer(self, *, account_ref: str, amount: int, currency: str, key: str) -> str:
        """Send ``amount`` to the connected account (``key`` makes a retry the same transfer)."""
        ...
