"""Creators' money: balances, ledger lines, monthly revenue sharing, payouts and statements.

``run(month)`` is the monthly job (``payouts.run``), idempotent per (creator, month):

1. earnings past their hold period move from pending to available (``release``);
2. the pool (the platform's share set aside for it, and the ads issue's revenue) is shared among
   videos by the seconds watched in the month, each video's share going to its creator or, where
   a Content-ID ``monetize`` claim stands, to the rights holders (one ledger transaction per
   month and currency, ``pool:{month}:{currency}``, with a statement line per video);
3. each creator with a connected account whose payouts are enabled and an available balance of at
   least the minimum is paid all of it: a ``Payout`` row (unique per creator, month and currency)
   and its ledger transaction are committed first, then the provider's transfer is made with the
   payout's id as idempotency key; a transfer refused puts the money back (``payout-failed``).
"""

from __future__ import annotations

import csv
import io
import logging
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.accounts.models import User
from control_plane.core.db import Database, utcnow
from control_plane.core.errors import Unprocessable
from control_plane.core.events import EventHub
from control_plane.http.pagination import Order, PageParams, keyset_page
from control_plane.payments.events import PayoutSent
from control_plane.payments.ledger import IN_TRANSIT, POOL, Ledger, available, pending
from control_plane.payments.memberships import Terms
from control_plane.payments.models import (
    Charge,
    ConnectedAccount,
    Earning,
    LedgerBalance,
    LedgerPosting,
    LedgerTransaction,
    Payout,
)
from control_plane.payments.money import Split
from control_plane.payments.providers import PaymentProvider
from control_plane.payments.revenue import ClaimSource, WatchTimeSource, allocate

__all__ = ["PayoutService", "month_bounds", "previous_month"]

log = logging.getLogger(__name__)

NEWEST_POSTINGS = Order("ledger", (LedgerPosting.id,))
NEWEST_PAYOUTS = Order("payouts", (Payout.created_at, Payout.id))


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The first instant of ``month`` (``YYYY-MM``) and of the next one, UTC."""
    try:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise Unprocessable("A month is written YYYY-MM.", code="INVALID_MONTH") from None
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


def previous_month(now: datetime | None = None) -> str:
    now = now or utcnow()
    first = now.replace(day=1)
    return f"{first.year - 1}-12" if first.month == 1 else f"{first.year}-{first.month - 1:02d}"


class PayoutService:
    """Owns releases, the pool's distribution, payouts, connected accounts and statements."""

    def __init__(
        self,
        db: Database,
        provider: PaymentProvider,
        terms: Terms,
        events: EventHub,
        *,
        watch_time: WatchTimeSource,
        claims: ClaimSource,
    ) -> None:
        self.db = db
        self.provider = provider
        self.terms = terms
        self.events = events
        self.watch_time = watch_time
        self.claims = claims

    # -- reading ---------------------------------------------------------------------------

    def balance(self, user_id: str) -> dict[str, dict[str, int]]:
        """``{currency: {available, pending}}`` of the user."""
        with self.db.session() as session:
            found = Ledger.balances(session, [available(user_id), pending(user_id)])
        out: dict[str, dict[str, int]] = defaultdict(lambda: {"available": 0, "pending": 0})
        for (account, currency), value in found.items():
            out[currency]["available" if account.endswith(":available") else "pending"] = value
        return dict(out)

    def ledger_page(self, user_id: str, page: PageParams) -> tuple[list[dict[str, Any]], str | None]:
        """The user's ledger lines, newest first."""
        with self.db.session() as session:
            query: sa.Select = (
                sa.select(LedgerPosting, LedgerTransaction, *NEWEST_POSTINGS.columns)
                .join(LedgerTransaction, LedgerTransaction.id == LedgerPosting.transaction_id)
                .where(LedgerPosting.account.in_([available(user_id), pending(user_id)]))
            )
            rows, cursor = keyset_page(session, query, NEWEST_POSTINGS, page)
            return [_line(p, t) for p, t, *_ in rows], cursor

    def payouts_page(self, user_id: str, page: PageParams) -> tuple[list[Payout], str | None]:
        with self.db.session() as session:
            query: sa.Select = sa.select(Payout, *NEWEST_PAYOUTS.columns).where(Payout.creator_id == user_id)
            rows, cursor = keyset_page(session, query, NEWEST_PAYOUTS, page)
            session.expunge_all()
            return [row[0] for row in rows], cursor

    def statement(self, user_id: str, month: str) -> dict[str, Any]:
        """The month's statement: totals by kind and currency, the ledger lines, and the watch-time
        lines (video, seconds, amount, whether a claim brought it)."""
        start, end = month_bounds(month)
        with self.db.session() as session:
            rows = session.execute(
                sa.select(LedgerPosting, LedgerTransaction)
                .join(LedgerTransaction, LedgerTransaction.id == LedgerPosting.transaction_id)
                .where(
                    LedgerPosting.account.in_([available(user_id), pending(user_id)]),
                    LedgerPosting.created_at >= start,
                    LedgerPosting.created_at < end,
                )
                .order_by(LedgerPosting.id)
            ).all()
            earnings = session.execute(
                sa.select(Earning)
                .where(Earning.user_id == user_id, Earning.month == month)
                .order_by(Earning.id)
            ).scalars()
            watch = [
                {
                    "video_id": e.video_id,
                    "currency": e.currency,
                    "watch_seconds": e.watch_seconds,
                    "amount": e.amount,
                    "source": e.source,
                }
                for e in earnings
            ]
        lines = [_line(p, t) for p, t in rows]
        totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for line in lines:
            if line["transfer"]:  # pending → available moves nothing the creator earned
                continue
            totals[line["currency"]][line["kind"]] += line["amount"]
        return {
            "month": month,
            "totals": {c: dict(kinds) for c, kinds in totals.items()},
            "lines": lines,
            "watch": watch,
        }

    def statement_csv(self, user_id: str, month: str) -> str:
        statement = self.statement(user_id, month)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["date", "kind", "account", "currency", "amount", "reference", "memo"])
        for line in statement["lines"]:
            writer.writerow(
                [
                    line["created_at"].isoformat(),
                    line["kind"],
                    line["account"],
                    line["currency"],
                    line["amount"],
                    line["reference"],
                    line["memo"],
                ]
            )
        for item in statement["watch"]:
            writer.writerow(
                [
                    "",
                    f"watch:{item['source']}",
                    item["video_id"],
                    item["currency"],
                    item["amount"],
                    f"{item['watch_seconds']} s",
                    "",
                ]
            )
        return out.getvalue()

    # -- connected accounts ------------------------------------------------------------------

    def onboarding_link(self, user_id: str) -> str:
        """The provider's onboarding page for the creator's payout account (made on first use)."""
        with self.db.session() as session:
            account = session.get(ConnectedAccount, user_id)
            ref = account.account_ref if account is not None else None
            email = session.execute(sa.select(User.email).where(User.id == user_id)).scalar_one()
        if ref is None:
            ref = self.provider.connect_account(user_id, email)
            with self.db.session() as session:
                session.execute(_insert_account(session, user_id, ref).on_conflict_do_nothing())
                ref = session.get(ConnectedAccount, user_id).account_ref  # type: ignore[union-attr]
        public = self.terms.public_url
        return self.provider.onboarding_link(
            ref,
            return_url=f"{public}/api/v1/users/me/payouts",
            refresh_url=f"{public}/api/v1/users/me/payouts",
        )

    # -- the monthly run ---------------------------------------------------------------------

    def release(self, now: datetime | None = None) -> int:
        """Move earnings past their hold from pending to available; how many charges moved."""
        now = now or utcnow()
        with self.db.session() as session:
            due = list(
                session.execute(
                    sa.select(Charge.id).where(Charge.released.is_(False), Charge.available_at <= now)
                ).scalars()
            )
        for charge_id in due:
            with self.db.session(exclusive=True) as session:
                charge = session.get(Charge, charge_id, with_for_update=True)
                if charge is None or charge.released:
                    continue
                reversed_part = Split(charge.net, charge.fee, charge.pool).part(
                    charge.refunded + charge.disputed
                )
                held = Ledger.balance(session, pending(charge.creator_id), charge.currency, lock=True)
                amount = max(0, min(charge.net - reversed_part.creator, held))
                Ledger.post(
                    session,
                    reference=f"release:{charge.id}",
                    kind="release",
                    currency=charge.currency,
                    entries=[(pending(charge.creator_id), -amount), (available(charge.creator_id), amount)],
                )
                charge.released = True
        return len(due)

    def distribute(self, month: str) -> dict[str, int]:
        """Share each currency's pool among the month's watched videos; ``{currency: amount}``."""
        shared: dict[str, int] = {}
        with self.db.session(exclusive=True) as session:
            pools = session.execute(
                sa.select(LedgerBalance.currency, LedgerBalance.balance).where(
                    LedgerBalance.account == POOL, LedgerBalance.balance > 0
                )
            ).all()
            if not pools:
                return shared
            watched = self.watch_time.watched(session, month)
            if not watched:
                return shared
            owners = {w.video_id: w.owner_id for w in watched}
            seconds = {w.video_id: w.seconds for w in watched}
            holders = self.claims.holders(session, sorted(seconds))
            for currency, _ in pools:
                reference = f"pool:{month}:{currency}"
                if session.execute(
                    sa.select(LedgerTransaction.id).where(LedgerTransaction.reference == reference)
                ).first():
                    continue
                amount = Ledger.balance(session, POOL, currency, lock=True)
                per_video = allocate(amount, seconds)
                credits: dict[str, int] = defaultdict(int)
                lines: list[dict[str, Any]] = []
                for video_id, share in sorted(per_video.items()):
                    if share <= 0:
                        continue
                    takers = holders.get(video_id) or [owners[video_id]]
                    source = "claim" if video_id in holders else "owner"
                    for user_id, part in allocate(share, {u: 1 for u in takers}).items():
                        if part:
                            credits[user_id] += part
                            lines.append(
                                {
                                    "month": month,
                                    "user_id": user_id,
                                    "video_id": video_id,
                                    "currency": currency,
                                    "watch_seconds": seconds[video_id],
                                    "amount": part,
                                    "source": source,
                                }
                            )
                entries = [(POOL, -amount), *((available(u), v) for u, v in credits.items())]
                Ledger.post(
                    session,
                    reference=reference,
                    kind="watch",
                    currency=currency,
                    entries=entries,
                    memo=f"watch-time pool of {month}",
                )
                if lines:
                    session.execute(sa.insert(Earning), lines)
                shared[currency] = amount
        return shared

    def run(self, month: str | None = None) -> dict[str, Any]:
        """The monthly job for ``month`` (default: the previous one); safe to run again."""
        month = month or previous_month()
        month_bounds(month)
        released = self.release()
        shared = self.distribute(month)
        paid, failed = self.pay(month)
        return {"month": month, "released": released, "shared": shared, "paid": paid, "failed": failed}

    def pay(self, month: str) -> tuple[int, int]:
        """Pay every creator due a payout for ``month``; (payouts sent, payouts refused)."""
        with self.db.session() as session:
            due = session.execute(
                sa.select(ConnectedAccount.user_id, ConnectedAccount.account_ref, LedgerBalance.currency)
                .join(
                    LedgerBalance,
                    LedgerBalance.account == sa.literal("user:") + ConnectedAccount.user_id + ":available",
                )
                .where(
                    ConnectedAccount.payouts_enabled.is_(True),
                    LedgerBalance.balance >= self.terms.payout_minimum,
                )
            ).all()
            unsent = (
                session.execute(
                    sa.select(Payout.id).where(Payout.status == "in_transit", Payout.transfer_ref.is_(None))
                )
                .scalars()
                .all()
            )
        booked = [p for p in (self._book(user, currency, month) for user, _, currency in due) if p]
        paid = failed = 0
        for payout_id in [*unsent, *booked]:
            if self._transfer(payout_id):
                paid += 1
            else:
                failed += 1
        return paid, failed

    def _book(self, user_id: str, currency: str, month: str) -> str | None:
        with self.db.session(exclusive=True) as session:
            exists = session.execute(
                sa.select(Payout.id).where(
                    Payout.creator_id == user_id, Payout.month == month, Payout.currency == currency
                )
            ).first()
            if exists:
                return None
            amount = Ledger.balance(session, available(user_id), currency, lock=True)
            if amount < self.terms.payout_minimum:
                return None
            payout = Payout(
                creator_id=user_id, month=month, currency=currency, amount=amount, status="in_transit"
            )
            session.add(payout)
            session.flush()
            Ledger.post(
                session,
                reference=f"payout:{user_id}:{month}:{currency}",
                kind="payout",
                currency=currency,
                entries=[(available(user_id), -amount), (IN_TRANSIT, amount)],
            )
            return payout.id

    def _transfer(self, payout_id: str) -> bool:
        with self.db.session() as session:
            payout = session.get(Payout, payout_id)
            account = session.get(ConnectedAccount, payout.creator_id) if payout else None
            if payout is None or account is None:
                return False
            amount, currency, creator = payout.amount, payout.currency, payout.creator_id
        try:
            ref = self.provider.transfer(
                account_ref=account.account_ref, amount=amount, currency=currency, key=payout_id
            )
        except Exception as exc:  # refused: the money goes back to the creator's available balance
            log.warning("payout %s refused: %s", payout_id, exc)
            with self.db.session(exclusive=True) as session:
                payout = session.get(Payout, payout_id, with_for_update=True)
                if payout is not None and payout.status == "in_transit":
                    Ledger.post(
                        session,
                        reference=f"payout-failed:{payout_id}",
                        kind="payout_failed",
                        currency=currency,
                        entries=[(IN_TRANSIT, -amount), (available(creator), amount)],
                    )
                    payout.status, payout.failure = "failed", str(exc)[:500]
            return False
        with self.db.session() as session:
            session.execute(sa.update(Payout).where(Payout.id == payout_id).values(transfer_ref=ref))
            month = session.get(Payout, payout_id).month  # type: ignore[union-attr]
        self.events.publish(
            PayoutSent(payout_id=payout_id, creator_id=creator, amount=amount, currency=currency, month=month)
        )
        return True


def _insert_account(session: Session, user_id: str, ref: str) -> Any:
    from control_plane.payments.ledger import upsert

    return upsert(session, ConnectedAccount).values(
        user_id=user_id, account_ref=ref, payouts_enabled=False, updated_at=utcnow()
    )


def _line(posting: LedgerPosting, txn: LedgerTransaction) -> dict[str, Any]:
    return {
        "id": posting.id,
        "account": posting.account.rsplit(":", 1)[1],
        "kind": txn.kind,
        "amount": posting.amount,
        "currency": posting.currency,
        "reference": txn.reference,
        "memo": txn.memo,
        "transfer": txn.kind == "release",
        "created_at": posting.created_at,
    }
