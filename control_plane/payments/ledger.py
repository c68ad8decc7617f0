"""The double-entry ledger: every movement of money is a transaction of postings that sum to zero.

Append-only: a transaction is inserted once (its ``reference`` is unique, so the same fact cannot
be booked twice) and never changed; a mistake is undone by another transaction. Amounts are
integer minor units, one currency per transaction. Each account's balance is the sum of its
postings; ``ledger_balances`` caches it, changed in the posting transaction with
``balance = balance + delta`` (no read-modify-write in Python, so concurrent writers lose
nothing), and :meth:`Ledger.check` proves the cache equals the sum.

Accounts are strings: ``user:{id}:pending`` and ``user:{id}:available`` (what the platform owes a
creator, before and after the hold period), ``platform:fees``, ``platform:pool`` (revenue shared
by watch time), ``external:provider`` (money that came in through the provider: negative),
``external:in_transit`` and ``external:paid_out`` (payouts), ``platform:losses`` (refunds and
disputes the platform absorbs because the creator's balance was already paid out). Every account
but ``external:provider`` and ``platform:losses`` must never go below zero: a posting that would
make one negative raises :class:`InsufficientFunds` and the whole transaction rolls back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from control_plane.core.db import utcnow
from control_plane.core.errors import Conflict
from control_plane.payments.models import LedgerBalance, LedgerPosting, LedgerTransaction

__all__ = [
    "PROVIDER",
    "FEES",
    "POOL",
    "IN_TRANSIT",
    "PAID_OUT",
    "LOSSES",
    "Check",
    "InsufficientFunds",
    "Ledger",
    "Unbalanced",
    "available",
    "guarded",
    "pending",
    "upsert",
]

PROVIDER = "external:provider"
FEES = "platform:fees"
POOL = "platform:pool"
IN_TRANSIT = "external:in_transit"
PAID_OUT = "external:paid_out"
LOSSES = "platform:losses"
#: Accounts allowed below zero: the outside world's side of money received, and absorbed losses.
UNGUARDED = frozenset({PROVIDER, LOSSES})

Entry = tuple[str, int]


def pending(user_id: str) -> str:
    return f"user:{user_id}:pending"


def available(user_id: str) -> str:
    return f"user:{user_id}:available"


def guarded(account: str) -> bool:
    """True for an account that must never go below zero."""
    return account not in UNGUARDED


class InsufficientFunds(Conflict):
    code, title = "INSUFFICIENT_FUNDS", "Insufficient funds"


class Unbalanced(ValueError):
    """Postings that do not sum to zero (a bug of the caller, never booked)."""


@dataclass
class Check:
    """What :meth:`Ledger.check` found; ``ok`` when nothing."""

    unbalanced: list[int] = field(default_factory=list)
    cache_mismatches: list[tuple[str, str, int, int]] = field(default_factory=list)
    negative: list[tuple[str, str, int]] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.unbalanced or self.cache_mismatches or self.negative) and not any(
            self.totals.values()
        )


def upsert(session: Session, model: Any) -> Any:
    """The dialect's ``INSERT`` into ``model``'s table that knows ``ON CONFLICT`` (PostgreSQL, SQLite)."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model.__table__)


class Ledger:
    """Books and reads transactions inside the caller's session (it never commits)."""

    @staticmethod
    def post(
        session: Session,
        *,
        reference: str,
        kind: str,
        currency: str,
        entries: Iterable[Entry],
        memo: str = "",
    ) -> int | None:
        """Book ``entries`` as one transaction; its id, or None when ``reference`` is booked already
        or every entry is zero. ``Unbalanced`` unless they sum to zero; ``InsufficientFunds`` when a
        guarded account would go below zero."""
        merged: dict[str, int] = defaultdict(int)
        for account, amount in entries:
            if not isinstance(amount, int) or isinstance(amount, bool):
                raise Unbalanced(f"amount {amount!r} of {account} is not an integer of minor units")
            merged[account] += amount
        legs = {account: amount for account, amount in merged.items() if amount}
        if sum(legs.values()) != 0:
            raise Unbalanced(f"postings of {reference} sum to {sum(legs.values())}, not 0")
        if not legs:
            return None
        booked = session.execute(
            sa.select(LedgerTransaction.id).where(LedgerTransaction.reference == reference)
        ).scalar_one_or_none()
        if booked is not None:
            return None
        now = utcnow()
        txn_id = session.execute(
            sa.insert(LedgerTransaction)
            .values(reference=reference, kind=kind, currency=currency, memo=memo[:500], created_at=now)
            .returning(LedgerTransaction.id)
        ).scalar_one()
        session.execute(
            sa.insert(LedgerPosting),
            [
                {"transaction_id": txn_id, "account": a, "currency": currency, "amount": v, "created_at": now}
                for a, v in sorted(legs.items())
            ],
        )
        table = LedgerBalance.__table__
        for account in sorted(legs):  # one lock order for every writer: no deadlocks between them
            delta = legs[account]
            stmt = (
                upsert(session, LedgerBalance)
                .values(account=account, currency=currency, balance=delta, postings=1)
                .on_conflict_do_update(
                    index_elements=["account", "currency"],
                    set_={"balance": table.c.balance + delta, "postings": table.c.postings + 1},
                )
                .returning(table.c.balance)
            )
            balance = session.execute(stmt).scalar_one()
            if balance < 0 and guarded(account):
                raise InsufficientFunds(f"{account} would go to {balance} {currency}; nothing was booked.")
        return int(txn_id)

    @staticmethod
    def balance(session: Session, account: str, currency: str, *, lock: bool = False) -> int:
        """The cached balance of ``account`` (0 for one never posted to); ``lock`` holds its row
        until the transaction ends (PostgreSQL), so a decision on it is not raced."""
        query = sa.select(LedgerBalance.balance).where(
            LedgerBalance.account == account, LedgerBalance.currency == currency
        )
        if lock:
            query = query.with_for_update()
        return int(session.execute(query).scalar_one_or_none() or 0)

    @staticmethod
    def balances(session: Session, accounts: Sequence[str]) -> dict[tuple[str, str], int]:
        """``{(account, currency): balance}`` of the cached balances of ``accounts``."""
        rows = session.execute(
            sa.select(LedgerBalance.account, LedgerBalance.currency, LedgerBalance.balance).where(
                LedgerBalance.account.in_(list(accounts))
            )
        )
        return {(a, c): int(b) for a, c, b in rows}

    @classmethod
    def drain(cls, session: Session, currency: str, amount: int, sources: Sequence[str]) -> list[Entry]:
        """Debits taking ``amount`` from ``sources`` in order, each down to zero, the remainder
        from the last one (which should be unguarded, like ``platform:losses``)."""
        entries: list[Entry] = []
        left = amount
        for account in sources[:-1]:
            if left <= 0:
                break
            take = min(left, max(0, cls.balance(session, account, currency, lock=True)))
            if take:
                entries.append((account, -take))
                left -= take
        if left > 0:
            entries.append((sources[-1], -left))
        return entries

    @staticmethod
    def check(session: Session) -> Check:
        """Every transaction sums to zero, every cached balance equals its postings' sum, no
        guarded account is below zero, and each currency's accounts sum to zero."""
        found = Check()
        found.unbalanced = [
            int(t)
            for (t,) in session.execute(
                sa.select(LedgerPosting.transaction_id)
                .group_by(LedgerPosting.transaction_id)
                .having(sa.func.sum(LedgerPosting.amount) != 0)
            )
        ]
        sums = {
            (a, c): int(s)
            for a, c, s in session.execute(
                sa.select(
                    LedgerPosting.account, LedgerPosting.currency, sa.func.sum(LedgerPosting.amount)
                ).group_by(LedgerPosting.account, LedgerPosting.currency)
            )
        }
        cached = {
            (a, c): int(b)
            for a, c, b in session.execute(
                sa.select(LedgerBalance.account, LedgerBalance.currency, LedgerBalance.balance)
            )
        }
        for key in sorted(set(sums) | set(cached)):
            if sums.get(key, 0) != cached.get(key, 0):
                found.cache_mismatches.append((*key, cached.get(key, 0), sums.get(key, 0)))
            if cached.get(key, 0) < 0 and guarded(key[0]):
                found.negative.append((*key, cached[key]))
        totals: dict[str, int] = defaultdict(int)
        for (_, currency), value in sums.items():
            totals[currency] += value
        found.totals = dict(totals)
        return found
