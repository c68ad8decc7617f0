"""The Stripe provider, through the official SDK, against localstripe on loopback.

localstripe makes the plan (product and plan), the payment intents of a tip and of an advertiser's
deposit, the member's customer and subscription, and sends its own signed webhooks
(``customer.subscription.created``, ``invoice.payment_succeeded``, ``payment_intent.succeeded``)
to the platform over HTTP. It has no Checkout Sessions and no Connect, so the test subscribes the
way Checkout would (a subscription whose metadata names the membership) and reports the connected
account with a recorded ``account.updated`` signed with Stripe's scheme.
"""

from __future__ import annotations

import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import stripe
from support.payments import deliver, event
from support.platform import Platform, embedded, live_server
from support.social import member

from control_plane.payments.models import ConnectedAccount, Membership, Tip
from control_plane.payments.providers.stripe import StripeProvider

SECRET = "whsec_localstripe_test_secret_0123456789"


def wait(check: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_stripe_provider_against_localstripe(
    localstripe: str, tmp_path: Path, platform_factory: Callable[..., Platform]
) -> None:
    url = f"stripe://?api_key=sk_test_socialflow&webhook_secret={SECRET}&api_base={urllib.parse.quote(localstripe)}"
    p = platform_factory(embedded(tmp_path, payments_url=url))
    assert isinstance(p.services.payments.provider, StripeProvider)
    assert "sk_test" not in repr(p.services.settings) and SECRET not in repr(p.services.payments.provider)
    stripe_api = stripe.StripeClient(
        "sk_test_socialflow", base_addresses={"api": localstripe}, max_network_retries=0
    )
    alice, bob = member(p, "alice"), member(p, "bob")
    with live_server(p) as base:
        hook = urllib.parse.urlencode(
            {"url": f"{base}/api/v1/payments/webhooks/stripe", "secret": SECRET}
        ).encode()
        urllib.request.urlopen(
            urllib.request.Request(f"{localstripe}/_config/webhooks/sf-{tmp_path.name}", data=hook)
        )
        r = p.client.post(
            "/api/v1/creators/me/plans",
            json={"name": "Gold", "amount": 500, "currency": "usd", "interval": "month"},
            headers=alice.headers,
        )
        assert r.status_code == 201, r.text
        plan = p.client.get("/api/v1/users/alice/plans").json()["items"][0]["id"]
        from control_plane.payments.models import Plan

        with p.services.db.session() as session:
            price = session.get(Plan, plan).provider_ref  # type: ignore[union-attr]
        assert stripe_api.v1.plans.retrieve(price).amount == 500  # the plan lives at the provider

        # a tip through a payment intent, confirmed as Stripe.js would
        r = p.client.post(
            "/api/v1/tips",
            json={"to": "alice", "amount": 700, "currency": "usd", "message": "thanks"},
            headers=bob.headers,
        )
        assert r.status_code == 201, r.text
        intent = r.json()["client_secret"].split("_secret_")[0]
        card = stripe_api.v1.payment_methods.create(
            {
                "type": "card",
                "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
            }
        )
        stripe_api.v1.payment_intents.update(intent, {"payment_method": card.id})
        assert stripe_api.v1.payment_intents.confirm(intent).status == "succeeded"

        def tipped() -> bool:
            with p.services.db.session() as session:
                return session.get(Tip, r.json()["id"]).status == "succeeded"  # type: ignore[union-attr]

        assert wait(tipped), "localstripe's payment_intent.succeeded never applied"

        # an advertiser's prepayment: a payment intent like a tip's, credited by its webhook
        adco = member(p, "adco", role="advertiser")
        r = p.client.post("/api/v1/ads/funds", json={"amount": 900}, headers=adco.headers)
        assert r.status_code == 201, r.text
        deposit = r.json()["client_secret"].split("_secret_")[0]
        assert stripe_api.v1.payment_intents.retrieve(deposit).metadata["advertiser_id"] == adco.id
        stripe_api.v1.payment_intents.update(deposit, {"payment_method": card.id})
        assert stripe_api.v1.payment_intents.confirm(deposit).status == "succeeded"

        def funded() -> bool:
            return p.client.get("/api/v1/ads/funds", headers=adco.headers).json()["balance"] == 900

        assert wait(funded), "the advertiser's deposit was never credited"

        # a membership, subscribed as Checkout does it
        c = p.client.post("/api/v1/subscriptions", json={"plan_id": plan}, headers=bob.headers)
        assert c.status_code == 503  # localstripe has no Checkout Sessions: the provider's refusal
        with p.services.db.session() as session:
            pending = session.query(Membership).one()
            assert pending.status == "pending" and pending.checkout_ref is None
            membership = pending.id
        customer = stripe_api.v1.customers.create(
            {
                "email": "bob@example.com",
                "payment_method": card.id,
                "invoice_settings": {"default_payment_method": card.id},
            }
        )
        sub = stripe_api.v1.subscriptions.create(
            {"customer": customer.id, "items": [{"plan": price}], "metadata": {"membership_id": membership}}
        )

        def active() -> bool:
            with p.services.db.session() as session:
                m = session.get(Membership, membership)
                return m is not None and m.status == "active" and m.access_until is not None

        assert wait(active), "localstripe's subscription events never applied"
        # the invoice's payment is its own event, which may arrive after the subscription's
        credited = {"usd": {"available": 0, "pending": 490 + 350}}

        def paid() -> bool:
            return p.client.get("/api/v1/users/me/balance", headers=alice.headers).json() == credited

        assert wait(paid), p.client.get("/api/v1/users/me/balance", headers=alice.headers).json()
        r = p.client.delete(f"/api/v1/subscriptions/{membership}", headers=bob.headers)
        assert r.status_code == 200 and r.json()["cancel_at_period_end"] is True
        assert stripe_api.v1.subscriptions.retrieve(sub.id).cancel_at_period_end is True

        # Connect: recorded events, signed as Stripe signs them
        with p.services.db.session() as session:
            session.add(ConnectedAccount(user_id=alice.id, account_ref="acct_alice"))
        update = event("account.updated", {"id": "acct_alice", "object": "account", "payouts_enabled": True})
        assert deliver(p.client, update, SECRET).json()["status"] == "applied"
        assert deliver(p.client, update, "whsec_someone_elses_secret_00").status_code == 400
        with p.services.db.session() as session:
            assert session.get(ConnectedAccount, alice.id).payouts_enabled is True  # type: ignore[union-attr]
