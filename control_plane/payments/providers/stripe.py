"""The Stripe provider, through the official ``stripe`` SDK (``StripeClient``).

Plans are Stripe plans (a plan id is accepted wherever a price id is: Checkout's line items and
subscription items), made with their product; members subscribe through Checkout Sessions in
``subscription`` mode whose ``client_reference_id`` and metadata name our membership; tips are
Payment Intents; payouts are Connect transfers to Express accounts onboarded through account
links. ``api_base`` points the SDK at a Stripe-compatible server (localstripe in the tests).

The API key and the webhook secret are held here and in the settings' secret field only; they
are never logged (errors are re-raised with the SDK's message, which does not carry them).
"""

from __future__ import annotations

import logging
from typing import Any

import stripe

from control_plane.payments.errors import ProviderFailed
from control_plane.payments.providers.base import Checkout, Intent, PlanSpec, verify

__all__ = ["StripeProvider"]

log = logging.getLogger(__name__)


class StripeProvider:
    name = "stripe"

    def __init__(self, api_key: str, webhook_secret: str, *, api_base: str | None = None) -> None:
        options: dict[str, Any] = {"max_network_retries": 2}
        if api_base:
            options["base_addresses"] = {"api": api_base.rstrip("/")}
        self.client = stripe.StripeClient(api_key, **options)
        self._secret = webhook_secret

    def __repr__(self) -> str:  # never the key or the secret
        return "StripeProvider()"

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except stripe.StripeError as exc:
            log.warning("stripe %s failed: %s", what, exc.user_message or type(exc).__name__)
            raise ProviderFailed(f"The payment provider refused to {what}.") from exc

    def verify(self, payload: bytes, header: str | None) -> dict[str, Any]:
        return verify(payload, header, self._secret)

    def create_plan(self, plan: PlanSpec) -> str:
        v1 = self.client.v1
        product = self._call(
            "create the plan's product",
            v1.products.create,
            {"name": plan.name, "metadata": {"plan_id": plan.plan_id, "creator_id": plan.creator_id}},
        )
        created = self._call(
            "create the plan",
            v1.plans.create,
            {
                "amount": plan.amount,
                "currency": plan.currency,
                "interval": plan.interval,
                "product": product.id,
                "metadata": {"plan_id": plan.plan_id},
            },
        )
        return str(created.id)

    def checkout(
        self, *, membership_id: str, plan: PlanSpec, member_id: str, success_url: str, cancel_url: str
    ) -> Checkout:
        metadata = {"membership_id": membership_id, "member_id": member_id, "plan_id": plan.plan_id}
        session = self._call(
            "open a checkout",
            self.client.v1.checkout.sessions.create,
            {
                "mode": "subscription",
                "line_items": [{"price": self._plan_ref(plan), "quantity": 1}],
                "client_reference_id": membership_id,
                "metadata": metadata,
                "subscription_data": {"metadata": metadata},
                "success_url": success_url,
                "cancel_url": cancel_url,
            },
            {"idempotency_key": f"checkout-{membership_id}"},
        )
        return Checkout(ref=str(session.id), url=str(session.url))

    @staticmethod
    def _plan_ref(plan: PlanSpec) -> str:
        if not plan.ref:
            raise ProviderFailed("This plan has no price at the payment provider.")
        return plan.ref

    def change_plan(self, subscription_ref: str, plan: PlanSpec) -> None:
        v1 = self.client.v1
        current = self._call("read the subscription", v1.subscriptions.retrieve, subscription_ref)
        item = current["items"]["data"][0]["id"]
        self._call(
            "change the plan",
            v1.subscriptions.update,
            subscription_ref,
            {"items": [{"id": item, "plan": self._plan_ref(plan)}], "proration_behavior": "always_invoice"},
        )

    def cancel_at_period_end(self, subscription_ref: str) -> None:
        self._call(
            "cancel the subscription",
            self.client.v1.subscriptions.update,
            subscription_ref,
            {"cancel_at_period_end": True},
        )

    def create_intent(self, *, tip_id: str, amount: int, currency: str, metadata: dict[str, str]) -> Intent:
        intent = self._call(
            "start the payment",
            self.client.v1.payment_intents.create,
            {"amount": amount, "currency": currency, "metadata": metadata},
            {"idempotency_key": f"tip-{tip_id}"},
        )
        return Intent(ref=str(intent.id), client_secret=str(intent.client_secret))

    def connect_account(self, user_id: str, email: str) -> str:
        account = self._call(
            "create the payout account",
            self.client.v1.accounts.create,
            {"type": "express", "email": email, "metadata": {"user_id": user_id}},
            {"idempotency_key": f"account-{user_id}"},
        )
        return str(account.id)

    def onboarding_link(self, account_ref: str, *, return_url: str, refresh_url: str) -> str:
        link = self._call(
            "make the onboarding link",
            self.client.v1.account_links.create,
            {
                "account": account_ref,
                "type": "account_onboarding",
                "return_url": return_url,
                "refresh_url": refresh_url,
            },
        )
        return str(link.url)

    def transfer(self, *, account_ref: str, amount: int, currency: str, key: str) -> str:
        transfer = self._call(
            "transfer the payout",
            self.client.v1.transfers.create,
            {"amount": amount, "currency": currency, "destination": account_ref, "metadata": {"payout": key}},
            {"idempotency_key": f"payout-{key}"},
        )
        return str(transfer.id)
