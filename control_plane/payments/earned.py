"""What a creator earned over a range of days, as the ledger recorded it: the payments domain's
answer to creator analytics' revenue (which never reads these tables itself).

A channel's revenue is every posting to its creator's own accounts (pending and available) over
the range, by kind: ``watch`` (their share of the watch-time pool, posted when the month's pool is
shared, Content-ID claims included), ``membership`` and ``tip`` (their part after fees), ``ads``
(their share of what advertisers spent on ads their videos carried, booked at each flush), and the
reversals ``refund``, ``dispute`` (negative) and ``dispute_won``. Moves between their own accounts
(``release``) and payouts are not revenue. A video's revenue is its watch-time earnings that went
to its creator, dated by the pool's ledger transaction: memberships and tips are the channel's,
not a video's. Amounts are integer minor units, per currency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from control_plane.core.db import Database
from control_plane.payments.ledger import available, pending
from control_plane.payments.models import Earning, LedgerPosting, LedgerTransaction

__all__ = ["EARNING_KINDS", "Earned", "EarnedReport"]

#: Ledger kinds that change what a creator earned (transfers and payouts do not).
EARNING_KINDS = ("watch", "membership", "tip", "ads", "refund", "dispute", "dispute_won")


@dataclass
class Earned:
    """One currency's revenue: its total and its parts by kind (minor units)."""

    currency: str
    total: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """Whole UTC days ``start`` to ``end``, as [from, until)."""
    return (
        datetime.combine(start, time(), tzinfo=UTC),
        datetime.combine(end + timedelta(days=1), time(), tzinfo=UTC),
    )


def _collect(rows: object) -> list[Earned]:
    found: dict[str, Earned] = {}
    for currency, kind, amount in rows:  # type: ignore[attr-defined]
        earned = found.setdefault(currency, Earned(currency))
        earned.by_kind[kind] = earned.by_kind.get(kind, 0) + int(amount or 0)
        earned.total += int(amount or 0)
    return [found[c] for c in sorted(found)]


class EarnedReport:
    """Reads the ledger for creator analytics."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def channel(self, user_id: str, start: date, end: date) -> list[Earned]:
        """What ``user_id`` earned from ``start`` to ``end`` (UTC days), per currency."""
        since, until = _bounds(start, end)
        query = (
            sa.select(LedgerPosting.currency, LedgerTransaction.kind, sa.func.sum(LedgerPosting.amount))
            .join(LedgerTransaction, LedgerTransaction.id == LedgerPosting.transaction_id)
            .where(
                LedgerPosting.account.in_([available(user_id), pending(user_id)]),
                LedgerTransaction.kind.in_(EARNING_KINDS),
                LedgerPosting.created_at >= since,
                LedgerPosting.created_at < until,
            )
            .group_by(LedgerPosting.currency, LedgerTransaction.kind)
        )
        with self.db.session() as session:
            return _collect(session.execute(query).all())

    def video(self, video_id: str, owner_id: str, start: date, end: date) -> list[Earned]:
        """The watch-time earnings of ``video_id`` that went to ``owner_id``, shared from ``start``
        to ``end`` (the pool's ledger transaction's time), per currency."""
        since, until = _bounds(start, end)
        pool = sa.literal("pool:") + Earning.month + sa.literal(":") + Earning.currency
        query = (
            sa.select(Earning.currency, sa.literal("watch"), sa.func.sum(Earning.amount))
            .join(LedgerTransaction, LedgerTransaction.reference == pool)
            .where(
                Earning.video_id == video_id,
                Earning.user_id == owner_id,
                LedgerTransaction.created_at >= since,
                LedgerTransaction.created_at < until,
            )
            .group_by(Earning.currency)
        )
        with self.db.session() as session:
            return _collect(session.execute(query).all())
