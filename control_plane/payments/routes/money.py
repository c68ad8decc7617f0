"""Plans, memberships, tips, and a creator's balance, ledger, earnings and payouts.

Every amount is integer minor units. Prices come from the stored plan, never from the client;
only the owner of the money sees it (``/users/me/...``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from control_plane.http.deps import PrincipalDep, ServicesDep, ViewerDep
from control_plane.http.openapi import answers, problems
from control_plane.http.pagination import Page, PageDep
from control_plane.payments.models import Membership, Payout, Plan
from control_plane.social.routes import Id, Text, Username

router = APIRouter(prefix="/api/v1", tags=["payments"])

Amount = Annotated[int, Field(ge=1, le=100_000_000, description="minor units (cents)")]
Currency = Annotated[str, Field(pattern="^[A-Za-z]{3}$", description="ISO 4217, e.g. usd")]
Month = Annotated[str, Query(pattern=r"^(19|20|21)\d{2}-(0[1-9]|1[0-2])$", description="YYYY-MM")]


class PlanIn(BaseModel):
    name: Text = Field(min_length=1, max_length=100)
    amount: Amount
    currency: Currency
    interval: Literal["month", "year"]


class PlanOut(BaseModel):
    id: str
    creator_id: str
    name: str
    amount: int
    currency: str
    interval: str
    created_at: datetime


class SubscribeIn(BaseModel):
    plan_id: str = Field(pattern="^[0-9a-f]{32}$")


class ChangePlanIn(BaseModel):
    plan_id: str = Field(pattern="^[0-9a-f]{32}$")


class SubscriptionOut(BaseModel):
    id: str
    plan: PlanOut | None
    creator_id: str
    status: str = Field(description="pending, active, past_due (in its grace period) or ended")
    current_period_end: datetime | None
    access_until: datetime | None
    cancel_at_period_end: bool
    created_at: datetime


class CheckoutOut(SubscriptionOut):
    checkout_url: str


class TipIn(BaseModel):
    to: str = Field(min_length=1, max_length=64, description="the creator's username")
    amount: Amount
    currency: Currency
    message: Text | None = Field(None, max_length=500)


class TipOut(BaseModel):
    id: str
    client_secret: str
    amount: int
    currency: str
    status: str


class Balance(BaseModel):
    available: int
    pending: int


class LedgerLine(BaseModel):
    id: int
    account: str = Field(description="available or pending")
    kind: str
    amount: int
    currency: str
    reference: str
    memo: str
    transfer: bool = Field(description="a move between pending and available, not money earned or spent")
    created_at: datetime


class WatchLine(BaseModel):
    video_id: str
    currency: str
    watch_seconds: int
    amount: int
    source: str = Field(description="owner (your video) or claim (your monetize claim on it)")


class Statement(BaseModel):
    month: str
    totals: dict[str, dict[str, int]]
    lines: list[LedgerLine]
    watch: list[WatchLine]


class PayoutOut(BaseModel):
    id: str
    month: str
    amount: int
    currency: str
    status: str
    failure: str | None
    created_at: datetime


class LinkOut(BaseModel):
    url: str


def plan_out(plan: Plan) -> PlanOut:
    return PlanOut(
        id=plan.id,
        creator_id=plan.creator_id,
        name=plan.name,
        amount=plan.amount,
        currency=plan.currency,
        interval=plan.interval,
        created_at=plan.created_at,
    )


def subscription_out(m: Membership, plan: Plan | None) -> SubscriptionOut:
    return SubscriptionOut(
        id=m.id,
        plan=plan_out(plan) if plan else None,
        creator_id=m.creator_id,
        status=m.status,
        current_period_end=m.current_period_end,
        access_until=m.access_until,
        cancel_at_period_end=m.cancel_at_period_end,
        created_at=m.created_at,
    )


def payout_out(p: Payout) -> PayoutOut:
    return PayoutOut(
        id=p.id,
        month=p.month,
        amount=p.amount,
        currency=p.currency,
        status=p.status,
        failure=p.failure,
        created_at=p.created_at,
    )


@router.post("/creators/me/plans", status_code=201, response_model=PlanOut, responses=problems(422, 503))
def create_plan(body: PlanIn, principal: PrincipalDep, services: ServicesDep) -> PlanOut:
    """Offer a membership plan: ``amount`` minor units of ``currency`` each month or year."""
    plan = services.payments.memberships.create_plan(
        principal.user.id, name=body.name, amount=body.amount, currency=body.currency, interval=body.interval
    )
    return plan_out(plan)


@router.get("/users/{username}/plans", response_model=Page[PlanOut])
def plans(username: Username, page: PageDep, viewer: ViewerDep, services: ServicesDep) -> Page[PlanOut]:
    """A channel's membership plans (public)."""
    items, cursor = services.payments.memberships.plans_of(username, viewer.user.id if viewer else None, page)
    return Page(items=[plan_out(p) for p in items], next_cursor=cursor)


@router.post(
    "/subscriptions", status_code=201, response_model=CheckoutOut, responses=problems(403, 404, 409, 503)
)
def subscribe(body: SubscribeIn, principal: PrincipalDep, services: ServicesDep) -> CheckoutOut:
    """Join a channel through a plan: a pending membership and the checkout page that starts it."""
    membership, url = services.payments.memberships.subscribe(principal.user.id, body.plan_id)
    with services.db.session() as session:
        plan = session.get(Plan, membership.plan_id)
        out = subscription_out(membership, plan)
    return CheckoutOut(**out.model_dump(), checkout_url=url)


@router.get("/users/me/subscriptions", response_model=Page[SubscriptionOut])
def my_subscriptions(page: PageDep, principal: PrincipalDep, services: ServicesDep) -> Page[SubscriptionOut]:
    items, cursor = services.payments.memberships.memberships_of(principal.user.id, page)
    return Page(items=[subscription_out(m, p) for m, p in items], next_cursor=cursor)


@router.delete(
    "/subscriptions/{subscription_id}", response_model=SubscriptionOut, responses=problems(404, 503)
)
def cancel(subscription_id: Id, principal: PrincipalDep, services: ServicesDep) -> SubscriptionOut:
    """Cancel at the end of the paid period: access lasts until then."""
    m = services.payments.memberships.cancel(principal.user.id, subscription_id)
    with services.db.session() as session:
        return subscription_out(m, session.get(Plan, m.plan_id))


@router.patch(
    "/subscriptions/{subscription_id}", response_model=SubscriptionOut, responses=problems(404, 422, 503)
)
def change_plan(
    subscription_id: Id, body: ChangePlanIn, principal: PrincipalDep, services: ServicesDep
) -> SubscriptionOut:
    """Move to another plan of the channel now; the difference is pro-rated over the period left."""
    m = services.payments.memberships.change_plan(principal.user.id, subscription_id, body.plan_id)
    with services.db.session() as session:
        return subscription_out(m, session.get(Plan, m.plan_id))


@router.post("/tips", status_code=201, response_model=TipOut, responses=problems(403, 404, 422, 503))
def tip(body: TipIn, principal: PrincipalDep, services: ServicesDep) -> TipOut:
    """Tip a creator; the client confirms the payment with ``client_secret``. The message reaches
    the creator once the payment succeeds."""
    made, secret = services.payments.memberships.tip(
        principal.user.id, body.to, amount=body.amount, currency=body.currency, message=body.message
    )
    return TipOut(
        id=made.id, client_secret=secret, amount=made.amount, currency=made.currency, status=made.status
    )


@router.get("/users/me/balance", response_model=dict[str, Balance])
def balance(principal: PrincipalDep, services: ServicesDep) -> dict[str, Balance]:
    """``{currency: {available, pending}}``: pending earnings become available after the hold period."""
    return {c: Balance(**b) for c, b in services.payments.payouts.balance(principal.user.id).items()}


@router.get("/users/me/ledger", response_model=Page[LedgerLine])
def ledger(page: PageDep, principal: PrincipalDep, services: ServicesDep) -> Page[LedgerLine]:
    """Your ledger lines, newest first."""
    items, cursor = services.payments.payouts.ledger_page(principal.user.id, page)
    return Page(items=[LedgerLine(**i) for i in items], next_cursor=cursor)


@router.get(
    "/users/me/earnings",
    response_model=Statement,
    responses={**answers(200, "text/csv", description="the statement as CSV (format=csv)"), **problems(422)},
)
def earnings(
    month: Month,
    principal: PrincipalDep,
    services: ServicesDep,
    format: Annotated[Literal["json", "csv"], Query(description="json or csv")] = "json",
) -> Statement | Response:
    """The month's statement: totals by kind, ledger lines and watch-time lines."""
    if format == "csv":
        text = services.payments.payouts.statement_csv(principal.user.id, month)
        return Response(
            text,
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="earnings-{month}.csv"'},
        )
    return Statement(**services.payments.payouts.statement(principal.user.id, month))


@router.get("/users/me/payouts", response_model=Page[PayoutOut])
def payouts(page: PageDep, principal: PrincipalDep, services: ServicesDep) -> Page[PayoutOut]:
    items, cursor = services.payments.payouts.payouts_page(principal.user.id, page)
    return Page(items=[payout_out(p) for p in items], next_cursor=cursor)


@router.post("/users/me/payouts/onboarding", response_model=LinkOut, responses=problems(503))
def onboarding(principal: PrincipalDep, services: ServicesDep) -> LinkOut:
    """The provider's page where you set up where payouts go (Stripe Connect)."""
    return LinkOut(url=services.payments.payouts.onboarding_link(principal.user.id))
