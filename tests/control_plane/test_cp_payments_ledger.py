"""The ledger's invariants under random sequences of payments, refunds, disputes, releases,
payouts and replays of webhook events (hypothesis): every transaction sums to zero, the cached
balances equal their postings, no guarded balance goes below zero, a replay changes nothing, and
the money the provider says it holds for the platform equals what the ledger says came in."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.payments import event
from support.platform import Platform
from support.social import member

from control_plane.core.db import new_id
from control_plane.payments.ledger import PROVIDER, InsufficientFunds, Ledger, Unbalanced
from control_plane.payments.models import Charge, ConnectedAccount, LedgerTransaction, Tip
from control_plane.payments.money import split
from control_plane.payments.proration import prorate
from control_plane.payments.providers import sign
from control_plane.payments.revenue import allocate

OPS = st.lists(
    st.tuples(
        st.sampled_from(["pay", "pay", "refund", "dispute", "close", "release", "payout", "replay"]),
        st.integers(0, 10**6),
        st.integers(50, 20_000),
    ),
    min_size=1,
    max_size=25,
)


class Provider:
    """What the provider knows: each charge's amount, refunds and disputes."""

    def __init__(self) -> None:
        self.charges: dict[str, dict[str, int]] = {}

    def holds(self) -> int:
        return sum(c["amount"] - c["refunded"] - c["disputed"] for c in self.charges.values())


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=OPS)
def test_random_sequences_keep_the_invariants(platform: Platform, ops: list[tuple[str, int, int]]) -> None:
    p = platform
    payments = p.services.payments
    local = payments.local
    assert local is not None
    creators = [member(p, f"creator{i}") for i in range(2)] if not hasattr(p, "_c") else p._c  # type: ignore[attr-defined]
    payer = member(p, "payer") if not hasattr(p, "_c") else p._payer  # type: ignore[attr-defined]
    if not hasattr(p, "_c"):
        p._c, p._payer, p._provider, p._sent = creators, payer, Provider(), []  # type: ignore[attr-defined]
        with p.services.db.session() as session:
            for c in creators:
                session.add(ConnectedAccount(user_id=c.id, account_ref=f"acct_{c.id}", payouts_enabled=True))
    provider: Provider = p._provider  # type: ignore[attr-defined]
    sent: list[tuple[bytes, str]] = p._sent  # type: ignore[attr-defined]

    def send(body: dict) -> str:
        payload = json.dumps(body).encode()
        header = sign(payload, local.secret)
        sent.append((payload, header))
        return payments.webhooks.receive(payload, header).status

    for op, pick, amount in ops:
        charges = sorted(provider.charges)
        if op == "pay":
            creator = creators[pick % len(creators)]
            tip = Tip(id=new_id(), from_id=payer.id, to_id=creator.id, amount=amount, currency="usd")
            with p.services.db.session() as session:
                session.add(tip)
            charge = f"ch_{new_id()}"
            send(
                event(
                    "payment_intent.succeeded",
                    {
                        "id": f"pi_{tip.id}",
                        "amount": amount,
                        "currency": "usd",
                        "latest_charge": charge,
                        "metadata": {"tip_id": tip.id},
                    },
                )
            )
            provider.charges[charge] = {"amount": amount, "refunded": 0, "disputed": 0, "open": 0}
        elif op == "refund" and charges:
            charge = charges[pick % len(charges)]
            c = provider.charges[charge]
            left = c["amount"] - c["refunded"] - c["disputed"]
            if left > 0:
                c["refunded"] += 1 + pick % left
                send(
                    event(
                        "charge.refunded",
                        {
                            "id": charge,
                            "amount": c["amount"],
                            "amount_refunded": c["refunded"],
                            "currency": "usd",
                        },
                    )
                )
        elif op == "dispute" and charges:
            charge = charges[pick % len(charges)]
            c = provider.charges[charge]
            left = c["amount"] - c["refunded"] - c["disputed"]
            if left > 0 and not c["open"]:
                c["open"] = 1 + pick % left
                c["disputed"] += c["open"]
                send(
                    event(
                        "charge.dispute.created",
                        {
                            "id": f"dp_{charge}_{c['disputed']}",
                            "charge": charge,
                            "amount": c["open"],
                            "currency": "usd",
                        },
                    )
                )
        elif op == "close" and charges:
            charge = charges[pick % len(charges)]
            c = provider.charges[charge]
            if c["open"]:
                won = pick % 2 == 0
                send(
                    event(
                        "charge.dispute.closed",
                        {
                            "id": f"dp_{charge}_{c['disputed']}",
                            "charge": charge,
                            "amount": c["open"],
                            "status": "won" if won else "lost",
                        },
                    )
                )
                if won:
                    c["disputed"] -= c["open"]
                c["open"] = 0
        elif op == "release":
            with p.services.db.session() as session:
                for row in session.execute(sa.select(Charge)).scalars():
                    row.available_at -= timedelta(days=30)
            payments.payouts.release()
        elif op == "payout":
            payments.payouts.pay(f"{2000 + pick % 500}-{1 + pick % 12:02d}")
        elif op == "replay" and sent:
            before = _snapshot(p)
            payload, header = sent[pick % len(sent)]
            assert payments.webhooks.receive(payload, header).status in ("duplicate", "held", "ignored")
            assert _snapshot(p) == before
        with p.services.db.session() as session:
            check = Ledger.check(session)
            assert check.ok, check
            assert -Ledger.balance(session, PROVIDER, "usd") == provider.holds()


def _snapshot(p: Platform) -> tuple[int, dict]:
    with p.services.db.session() as session:
        count = session.execute(sa.select(sa.func.count()).select_from(LedgerTransaction)).scalar_one()
        balances = {
            a: b
            for a, _, b in session.execute(sa.text("SELECT account, currency, balance FROM ledger_balances"))
        }
    return count, balances


def test_postings_must_balance_and_guarded_accounts_stay_positive(platform: Platform) -> None:
    with pytest.raises(Unbalanced):
        with platform.services.db.session() as session:
            Ledger.post(session, reference="x", kind="t", currency="usd", entries=[("a", 1), ("b", -2)])
    with pytest.raises(InsufficientFunds):
        with platform.services.db.session() as session:
            Ledger.post(
                session,
                reference="y",
                kind="t",
                currency="usd",
                entries=[("user:u:available", -1), (PROVIDER, 1)],
            )
    with platform.services.db.session() as session:
        assert Ledger.post(
            session, reference="z", kind="t", currency="usd", entries=[(PROVIDER, -5), ("platform:fees", 5)]
        )
        assert (
            Ledger.post(
                session,
                reference="z",
                kind="t",
                currency="usd",
                entries=[(PROVIDER, -5), ("platform:fees", 5)],
            )
            is None
        )
        assert Ledger.check(session).ok and Ledger.balance(session, "platform:fees", "usd") == 5


@given(
    amount=st.integers(0, 10**9),
    fee=st.integers(0, 10_000),
    pool=st.integers(0, 10_000),
    part=st.integers(0, 10**9),
)
def test_splits_add_up(amount: int, fee: int, pool: int, part: int) -> None:
    s = split(amount, fee, pool)
    assert s.total == amount and min(s.creator, s.fee, s.pool) >= 0
    back = s.part(part)
    assert back.total == min(part, amount) and 0 <= back.creator <= s.creator and back.pool <= s.pool


@given(
    amount=st.integers(0, 10**9),
    weights=st.dictionaries(st.text(min_size=1, max_size=4), st.integers(0, 10**6), max_size=20),
)
def test_allocation_loses_no_cent(amount: int, weights: dict[str, int]) -> None:
    shares = allocate(amount, weights)
    assert set(shares) == set(weights)
    assert sum(shares.values()) == (amount if sum(weights.values()) else 0)
    assert all(v >= 0 for v in shares.values())


def test_proration() -> None:
    assert prorate(500, 1500, 15, 30) == 500
    assert prorate(1500, 500, 15, 30) == -500
    assert prorate(500, 1500, 0, 30) == 0
    assert prorate(500, 1000, 10, 30) == 167
