"""Plans, memberships and tips: what a creator sells and what a viewer starts paying for.

The price always comes from the plan stored here, never from the client; a checkout and a
payment intent are made at the provider, and the money is booked only when the provider's
signed events say it arrived (``webhooks``). Access to members-only videos is decided by
:func:`is_member` from ``access_until``, which those events move.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.accounts.models import User
from control_plane.core.db import Database, utcnow
from control_plane.core.errors import Forbidden, Unprocessable
from control_plane.http.pagination import Order, PageParams, keyset_page
from control_plane.payments.errors import AlreadyMember, NoSuchPlan, NoSuchSubscription
from control_plane.payments.models import Membership, Plan, Tip
from control_plane.payments.money import check_money
from control_plane.payments.providers import PaymentProvider, PlanSpec
from control_plane.social.audience import blocked_between, user_named

__all__ = ["MAX_PLANS", "MembershipService", "Terms", "is_member", "spec_of"]

#: Active plans one creator may offer.
MAX_PLANS = 10
NEWEST_PLANS = Order("plans", (Plan.created_at, Plan.id))
NEWEST_MEMBERSHIPS = Order("memberships", (Membership.created_at, Membership.id))


@dataclass(frozen=True)
class Terms:
    """The platform's payment terms, from the settings (see ``docs/configuration.md``)."""

    fee_bps: int = 3000
    pool_bps: int = 5000
    hold_days: int = 7
    grace_days: int = 7
    payout_minimum: int = 1000
    currencies: tuple[str, ...] = ("usd", "eur", "gbp", "cad", "aud", "jpy")
    max_amount: int = 1_000_000
    public_url: str = "http://127.0.0.1:8000"


def spec_of(plan: Plan) -> PlanSpec:
    return PlanSpec(
        plan.id, plan.creator_id, plan.name, plan.amount, plan.currency, plan.interval, plan.provider_ref
    )


def is_member(session: Session, creator_id: str, viewer_id: str) -> bool:
    """True while ``viewer_id`` has a membership of ``creator_id``'s channel that grants access now."""
    found = session.execute(
        sa.select(sa.literal(1))
        .where(
            Membership.creator_id == creator_id,
            Membership.member_id == viewer_id,
            Membership.status != "ended",
            Membership.access_until > utcnow(),
        )
        .limit(1)
    ).first()
    return found is not None


class MembershipService:
    """Owns plans, memberships and tips (their rows; the provider's events move their status)."""

    def __init__(self, db: Database, provider: PaymentProvider, terms: Terms) -> None:
        self.db = db
        self.provider = provider
        self.terms = terms

    # -- plans -------------------------------------------------------------------------------

    def create_plan(self, creator_id: str, *, name: str, amount: int, currency: str, interval: str) -> Plan:
        currency = check_money(
            amount, currency, allowed=list(self.terms.currencies), maximum=self.terms.max_amount
        )
        if interval not in ("month", "year"):
            raise Unprocessable("A plan renews each month or each year.", code="INVALID_INTERVAL")
        with self.db.session() as session:
            count = session.execute(
                sa.select(sa.func.count()).where(Plan.creator_id == creator_id, Plan.active.is_(True))
            ).scalar_one()
            if count >= MAX_PLANS:
                raise Unprocessable(f"A channel offers at most {MAX_PLANS} plans.", code="TOO_MANY_PLANS")
            plan = Plan(
                creator_id=creator_id,
                name=name,
                amount=amount,
                currency=currency,
                interval=interval,
                active=False,
            )
            session.add(plan)
        try:
            ref = self.provider.create_plan(spec_of(plan))
        except Exception:
            with self.db.session() as session:
                session.execute(sa.delete(Plan).where(Plan.id == plan.id))
            raise
        with self.db.session() as session:
            stored = session.get(Plan, plan.id)
            assert stored is not None
            stored.provider_ref, stored.active = ref, True
            session.flush()
            session.expunge(stored)
            return stored

    def plans_of(
        self, username: str, viewer_id: str | None, page: PageParams
    ) -> tuple[list[Plan], str | None]:
        """The active plans of a channel, newest first; 404 for a viewer the channel blocked."""
        with self.db.session() as session:
            user = user_named(session, username, viewer_id)
            query: sa.Select = sa.select(Plan, *NEWEST_PLANS.columns).where(
                Plan.creator_id == user.id, Plan.active.is_(True)
            )
            rows, cursor = keyset_page(session, query, NEWEST_PLANS, page)
            session.expunge_all()
            return [row[0] for row in rows], cursor

    # -- memberships -------------------------------------------------------------------------

    def subscribe(self, member_id: str, plan_id: str) -> tuple[Membership, str]:
        """A pending membership and the checkout URL that starts it (the plan's own price)."""
        with self.db.session() as session:
            plan = session.get(Plan, plan_id)
            if plan is None or not plan.active:
                raise NoSuchPlan()
            if plan.creator_id == member_id:
                raise Forbidden("You cannot join your own channel.", code="OWN_PLAN")
            if blocked_between(session, member_id, plan.creator_id):
                raise NoSuchPlan()
            if is_member(session, plan.creator_id, member_id):
                raise AlreadyMember("You are a member of this channel already; change your plan instead.")
            membership = Membership(plan_id=plan.id, member_id=member_id, creator_id=plan.creator_id)
            session.add(membership)
            spec = spec_of(plan)
        public = self.terms.public_url
        checkout = self.provider.checkout(
            membership_id=membership.id,
            plan=spec,
            member_id=member_id,
            success_url=f"{public}/api/v1/users/me/subscriptions",
            cancel_url=f"{public}/api/v1/users/me/subscriptions",
        )
        with self.db.session() as session:
            stored = session.get(Membership, membership.id)
            assert stored is not None
            stored.checkout_ref = checkout.ref
            session.flush()
            session.expunge(stored)
        return stored, checkout.url

    def _mine(self, session: Session, member_id: str, membership_id: str) -> Membership:
        membership = session.get(Membership, membership_id)
        if membership is None or membership.member_id != member_id:
            raise NoSuchSubscription()
        return membership

    def cancel(self, member_id: str, membership_id: str) -> Membership:
        """Cancel at the end of the paid period (access lasts until then); a membership whose
        checkout never completed ends at once."""
        with self.db.session() as session:
            membership = self._mine(session, member_id, membership_id)
            ref, status = membership.subscription_ref, membership.status
            if ref is None or status == "ended":
                if status == "pending":
                    membership.status = "ended"
                session.flush()
                session.expunge(membership)
                return membership
        self.provider.cancel_at_period_end(ref)
        with self.db.session() as session:
            membership = self._mine(session, member_id, membership_id)
            membership.cancel_at_period_end = True
            session.flush()
            session.expunge(membership)
            return membership

    def change_plan(self, member_id: str, membership_id: str, plan_id: str) -> Membership:
        """Move to another plan of the same channel and currency, pro-rated by the provider."""
        with self.db.session() as session:
            membership = self._mine(session, member_id, membership_id)
            plan = session.get(Plan, plan_id)
            current = session.get(Plan, membership.plan_id)
            if plan is None or not plan.active or plan.creator_id != membership.creator_id:
                raise NoSuchPlan()
            if current is not None and current.currency != plan.currency:
                raise Unprocessable("A plan change keeps the currency.", code="CURRENCY_CHANGE")
            if membership.subscription_ref is None or membership.status == "ended":
                raise NoSuchSubscription("This membership is not running.")
            ref, spec = membership.subscription_ref, spec_of(plan)
        if plan_id != membership.plan_id:
            self.provider.change_plan(ref, spec)
        with self.db.session() as session:
            membership = self._mine(session, member_id, membership_id)
            session.expunge(membership)
            return membership

    def memberships_of(
        self, member_id: str, page: PageParams
    ) -> tuple[list[tuple[Membership, Plan]], str | None]:
        with self.db.session() as session:
            query: sa.Select = (
                sa.select(Membership, Plan, *NEWEST_MEMBERSHIPS.columns)
                .join(Plan, Plan.id == Membership.plan_id)
                .where(Membership.member_id == member_id)
            )
            rows, cursor = keyset_page(session, query, NEWEST_MEMBERSHIPS, page)
            session.expunge_all()
            return [(row[0], row[1]) for row in rows], cursor

    # -- tips --------------------------------------------------------------------------------

    def tip(
        self, from_id: str, to: str, *, amount: int, currency: str, message: str | None
    ) -> tuple[Tip, str]:
        """A pending tip and the client secret its payer confirms it with."""
        currency = check_money(
            amount, currency, allowed=list(self.terms.currencies), maximum=self.terms.max_amount
        )
        with self.db.session() as session:
            creator: User = user_named(session, to, from_id)
            if creator.id == from_id:
                raise Forbidden("You cannot tip yourself.", code="OWN_TIP")
            if blocked_between(session, from_id, creator.id):
                raise Forbidden("One of you has blocked the other.", code="BLOCKED")
            tip = Tip(
                from_id=from_id, to_id=creator.id, amount=amount, currency=currency, message=message or None
            )
            session.add(tip)
        metadata: dict[str, Any] = {"tip_id": tip.id, "from_id": from_id, "to_id": tip.to_id}
        intent = self.provider.create_intent(
            tip_id=tip.id, amount=amount, currency=currency, metadata=metadata
        )
        with self.db.session() as session:
            stored = session.get(Tip, tip.id)
            assert stored is not None
            stored.intent_ref = intent.ref
            session.flush()
            session.expunge(stored)
        return stored, intent.client_secret
