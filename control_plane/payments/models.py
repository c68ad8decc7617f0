"""The payments domain's tables: plans and memberships, tips, the provider's events, the
double-entry ledger, charges and their reversals, connected accounts, payouts and earnings.

Money is an integer of minor units (cents) with its ISO 4217 currency in lower case, everywhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.accounts.models import User
from control_plane.core.db import Base, UTCDateTime, new_id, utcnow

__all__ = [
    "Charge",
    "ConnectedAccount",
    "Earning",
    "LedgerBalance",
    "LedgerPosting",
    "LedgerTransaction",
    "LocalObject",
    "Membership",
    "Payout",
    "Plan",
    "ProviderEvent",
    "Tip",
    "WatchTime",
]


def _user(**kw: Any) -> Mapped[str]:
    return mapped_column(sa.String(32), sa.ForeignKey(User.id, ondelete="CASCADE"), **kw)


class Plan(Base):
    """A creator's membership plan: ``amount`` minor units of ``currency`` each ``interval``."""

    __tablename__ = "payment_plans"
    __table_args__ = (sa.Index("ix_payment_plans_creator", "creator_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    creator_id: Mapped[str] = _user()
    name: Mapped[str] = mapped_column(sa.String(100))
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = mapped_column(sa.String(3))
    interval: Mapped[str] = mapped_column(sa.String(8))  # month, year
    #: The provider's id of the price (Stripe: a plan, usable wherever a price is).
    provider_ref: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Membership(Base):
    """A viewer's membership of a creator's channel, through one plan.

    ``status``: ``pending`` until the checkout completes, then ``active``; ``past_due`` after a
    failed renewal (access lasts until ``access_until``, the grace period's end); ``ended`` once
    the subscription is gone. ``access_until`` is the one column access is decided by.
    """

    __tablename__ = "memberships"
    __table_args__ = (
        sa.Index("ix_memberships_member", "member_id", "created_at", "id"),
        sa.Index("ix_memberships_access", "creator_id", "member_id", "access_until"),
    )

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    plan_id: Mapped[str] = mapped_column(sa.ForeignKey(Plan.id, ondelete="CASCADE"), index=True)
    member_id: Mapped[str] = _user()
    creator_id: Mapped[str] = _user()
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    checkout_ref: Mapped[str | None] = mapped_column(sa.String(255), nullable=True, unique=True)
    subscription_ref: Mapped[str | None] = mapped_column(sa.String(255), nullable=True, unique=True)
    current_period_end: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    access_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancel_at_period_end: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    #: ``created`` (Unix seconds) of the newest subscription event applied: an older one arriving
    #: late does not undo it.
    event_at: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Tip(Base):
    """A one-off payment to a creator with an optional message, through a payment intent."""

    __tablename__ = "tips"
    __table_args__ = (sa.Index("ix_tips_to", "to_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    from_id: Mapped[str] = _user(index=True)
    to_id: Mapped[str] = _user()
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = mapped_column(sa.String(3))
    message: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
    intent_ref: Mapped[str | None] = mapped_column(sa.String(255), nullable=True, unique=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")  # pending, succeeded, failed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProviderEvent(Base):
    """One event the provider sent, stored in the transaction that applies it.

    ``status``: ``applied``, ``ignored`` (not ours or nothing to do), ``held`` (refers to an
    object not known yet: ``waiting_for`` names it; applied when it arrives) or ``failed`` (the
    handler raised; ``error`` says what, and it is retried).
    """

    __tablename__ = "payment_events"
    __table_args__ = (
        sa.Index("ix_payment_events_status", "status", "received_at"),
        sa.Index("ix_payment_events_waiting", "waiting_for"),
    )

    id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16), default="received")
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    waiting_for: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


#: PostgreSQL's ``text_pattern_ops`` index for prefix searches of references (``ad:{campaign}:%``,
#: a campaign's spend), made by the migration: the default collation keeps ``LIKE`` off the unique
#: index. SQLite's ledger is small and has none.
Base.metadata.info.setdefault("unmapped", set()).add("index:ix_ledger_transactions_reference_prefix")


class LedgerTransaction(Base):
    """A movement of money: postings that sum to zero, in one currency. Never updated or deleted.

    ``reference`` is unique: the same business fact (an event's charge, a payout of a month)
    cannot be booked twice.
    """

    __tablename__ = "ledger_transactions"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(255), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    currency: Mapped[str] = mapped_column(sa.String(3))
    memo: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class LedgerPosting(Base):
    """One leg of a transaction: ``amount`` (signed, minor units) to ``account``."""

    __tablename__ = "ledger_postings"
    __table_args__ = (sa.Index("ix_ledger_postings_account", "account", "currency", "id"),)

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    transaction_id: Mapped[int] = mapped_column(sa.ForeignKey(LedgerTransaction.id), index=True)
    account: Mapped[str] = mapped_column(sa.String(128))
    currency: Mapped[str] = mapped_column(sa.String(3))
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LedgerBalance(Base):
    """The cached sum of an account's postings (``Ledger.check`` compares it with the sum)."""

    __tablename__ = "ledger_balances"

    account: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    currency: Mapped[str] = mapped_column(sa.String(3), primary_key=True)
    balance: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    postings: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")


class Charge(Base):
    """Money that reached the platform for a creator (a membership invoice or a tip), with how it
    was split, so refunds and disputes reverse exactly what they must."""

    __tablename__ = "payment_charges"
    __table_args__ = (sa.Index("ix_payment_charges_release", "released", "available_at"),)

    id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)  # the provider's charge id
    intent_ref: Mapped[str | None] = mapped_column(sa.String(255), nullable=True, unique=True)
    kind: Mapped[str] = mapped_column(sa.String(16))  # membership, tip
    creator_id: Mapped[str] = _user(index=True)
    payer_id: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)
    currency: Mapped[str] = mapped_column(sa.String(3))
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    net: Mapped[int] = mapped_column(sa.BigInteger)
    fee: Mapped[int] = mapped_column(sa.BigInteger)
    pool: Mapped[int] = mapped_column(sa.BigInteger)
    refunded: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    disputed: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    #: When the creator's part moves from pending to available; ``released`` once it has.
    available_at: Mapped[datetime] = mapped_column(UTCDateTime)
    released: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConnectedAccount(Base):
    """A creator's account at the provider for payouts (Stripe Connect)."""

    __tablename__ = "payment_accounts"

    user_id: Mapped[str] = _user(primary_key=True)
    account_ref: Mapped[str] = mapped_column(sa.String(255), unique=True)
    payouts_enabled: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Payout(Base):
    """What a creator is paid for a month. One per (creator, month, currency).

    ``status``: ``in_transit`` (booked and transferred), ``paid``, ``failed`` (the money is back
    in the creator's available balance).
    """

    __tablename__ = "payouts"
    __table_args__ = (
        sa.UniqueConstraint("creator_id", "month", "currency", name="uq_payouts_creator_month"),
        sa.Index("ix_payouts_creator", "creator_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    creator_id: Mapped[str] = _user()
    month: Mapped[str] = mapped_column(sa.String(7))  # YYYY-MM
    currency: Mapped[str] = mapped_column(sa.String(3))
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    status: Mapped[str] = mapped_column(sa.String(16), default="in_transit")
    transfer_ref: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    failure: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Earning(Base):
    """A line of a creator's monthly statement from the watch-time pool: one video's share, and
    to whom it went (a Content-ID ``monetize`` claim sends it to the rights holder)."""

    __tablename__ = "payment_earnings"
    __table_args__ = (sa.Index("ix_payment_earnings_user", "user_id", "month"),)

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    month: Mapped[str] = mapped_column(sa.String(7))
    user_id: Mapped[str] = _user()
    video_id: Mapped[str] = mapped_column(sa.String(32))
    currency: Mapped[str] = mapped_column(sa.String(3))
    watch_seconds: Mapped[int] = mapped_column(sa.BigInteger)
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    #: ``owner`` (the video's creator) or ``claim`` (a rights holder's monetize claim).
    source: Mapped[str] = mapped_column(sa.String(16))


class WatchTime(Base):
    """Seconds watched of a video on a day: the watch time revenue is shared by until the views
    issue lands its own store (``payments.revenue.WatchTimeSource`` is the seam)."""

    __tablename__ = "watch_time_daily"

    video_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    day: Mapped[str] = mapped_column(sa.String(10), primary_key=True)  # YYYY-MM-DD
    seconds: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")


class LocalObject(Base):
    """An object of the local provider (the embedded default's stand-in for Stripe)."""

    __tablename__ = "payment_local_objects"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
