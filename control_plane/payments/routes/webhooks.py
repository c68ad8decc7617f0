"""The provider's webhook, and what admins see of the events and the ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from control_plane.http.deps import AdminDep, ServicesDep
from control_plane.http.openapi import problems
from control_plane.http.pagination import Page, PageDep
from control_plane.payments.errors import SignatureInvalid, WebhookDeferred
from control_plane.payments.ledger import Ledger
from control_plane.payments.models import LedgerBalance
from control_plane.payments.models import ProviderEvent as EventRow

router = APIRouter(prefix="/api/v1", tags=["payments"])

#: The largest event body taken (Stripe's are a few KiB).
MAX_EVENT_BYTES = 256 * 1024


class Received(BaseModel):
    received: bool
    status: str = Field(description="applied, ignored, duplicate (nothing changed) or held (applied later)")


class EventOut(BaseModel):
    id: str
    type: str
    status: str
    waiting_for: str | None
    attempts: int
    error: str | None
    received_at: datetime
    applied_at: datetime | None


class Report(BaseModel):
    ok: bool = Field(description="every check below passed")
    unbalanced_transactions: list[int]
    cache_mismatches: list[list[Any]]
    negative_balances: list[list[Any]]
    platform: dict[str, dict[str, int]] = Field(
        description="{account: {currency: balance}} of platform and external accounts, and under "
        "`advertisers` the sum of advertisers' prepaid balances"
    )
    events: dict[str, int] = Field(description="stored provider events by status")


@router.post(
    "/payments/webhooks/stripe",
    response_model=Received,
    responses=problems(400, 413, 503, s503="the event is stored and will be applied by a retry"),
)
async def stripe_webhook(request: Request, services: ServicesDep) -> Received:
    """The provider's signed events. A bad, stale or foreign signature answers 400 and changes
    nothing; a copy of an event applied already changes nothing."""
    body = await request.body()
    if len(body) > MAX_EVENT_BYTES:
        raise SignatureInvalid("The body is larger than any event.")
    from starlette.concurrency import run_in_threadpool

    outcome = await run_in_threadpool(
        services.payments.webhooks.receive, body, request.headers.get("stripe-signature")
    )
    if outcome.status == "failed":
        raise WebhookDeferred("The event is stored; applying it failed and will be retried.")
    return Received(received=True, status=outcome.status)


@router.get("/admin/payments/events", response_model=Page[EventOut])
def events(
    page: PageDep,
    admin: AdminDep,
    services: ServicesDep,
    status: Annotated[Literal["applied", "ignored", "held", "failed", "received"] | None, Query()] = None,
) -> Page[EventOut]:
    """The provider's events, newest first; ``status=failed`` lists those whose handler failed."""
    items, cursor = services.payments.webhooks.listed(status, page)
    return Page(
        items=[
            EventOut(
                id=e.id,
                type=e.type,
                status=e.status,
                waiting_for=e.waiting_for,
                attempts=e.attempts,
                error=e.error,
                received_at=e.received_at,
                applied_at=e.applied_at,
            )
            for e in items
        ],
        next_cursor=cursor,
    )


@router.post("/admin/payments/events/{event_id}/retry", response_model=Received, responses=problems(404))
def retry(
    event_id: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_]+$")],
    admin: AdminDep,
    services: ServicesDep,
) -> Received:
    """Apply a held or failed event again now."""
    from control_plane.core.errors import NotFound

    outcome = services.payments.webhooks.apply(event_id)
    if outcome.status == "missing":
        raise NotFound("No such event.", code="EVENT_NOT_FOUND")
    return Received(received=True, status=outcome.status)


@router.get("/admin/payments/report", response_model=Report)
def report(admin: AdminDep, services: ServicesDep) -> Report:
    """The ledger's invariants and the platform's balances."""
    import sqlalchemy as sa

    with services.db.session() as session:
        check = Ledger.check(session)
        platform: dict[str, dict[str, int]] = {}
        for account, currency, balance in session.execute(
            sa.select(LedgerBalance.account, LedgerBalance.currency, LedgerBalance.balance).where(
                sa.not_(LedgerBalance.account.like("user:%")),
                sa.not_(LedgerBalance.account.like("advertiser:%")),
            )
        ):
            platform.setdefault(account, {})[currency] = int(balance)
        # advertisers' prepaid balances, together: what the platform holds for ads not yet served
        for currency, total in session.execute(
            sa.select(LedgerBalance.currency, sa.func.sum(LedgerBalance.balance))
            .where(LedgerBalance.account.like("advertiser:%"))
            .group_by(LedgerBalance.currency)
        ):
            platform.setdefault("advertisers", {})[currency] = int(total or 0)
        counts = dict(
            session.execute(sa.select(EventRow.status, sa.func.count()).group_by(EventRow.status)).all()
        )
    return Report(
        ok=check.ok,
        unbalanced_transactions=check.unbalanced,
        cache_mismatches=[list(m) for m in check.cache_mismatches],
        negative_balances=[list(n) for n in check.negative],
        platform=platform,
        events={k: int(v) for k, v in counts.items()},
    )
