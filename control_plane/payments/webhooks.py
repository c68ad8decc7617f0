"""Receiving the provider's events: verified, stored, applied exactly once, held or retried.

``receive`` checks the signature on the raw body (nothing is stored for a bad one), stores the
event under its id (a repeat finds it there), then applies it: in one transaction the event's row
is locked, its handler's changes are made and the row is marked ``applied``; a concurrent or
later copy of the same event waits on that lock and then finds it applied, so each event has its
effects once, whatever the repetition or the concurrency. An event about an object not known yet
is ``held`` and applied as soon as an event that makes the object known has been; a handler that
raises leaves the event ``failed``, with its error, for the periodic retry and the admins' list.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa

from control_plane.core.db import Database, utcnow
from control_plane.core.events import EventHub
from control_plane.http.pagination import Order, PageParams, keyset_page
from control_plane.payments.handlers import Applied, Held, handle
from control_plane.payments.ledger import upsert
from control_plane.payments.memberships import Terms
from control_plane.payments.models import ProviderEvent
from control_plane.payments.providers import PaymentProvider

__all__ = ["DONE", "Outcome", "WebhookService"]

log = logging.getLogger(__name__)

#: States of an event that is finished with: a copy changes nothing.
DONE = ("applied", "ignored")
#: Times a failed event is retried by the periodic run before it waits for an admin.
MAX_ATTEMPTS = 20
NEWEST_EVENTS = Order("payment-events", (ProviderEvent.received_at, ProviderEvent.id))


@dataclass(frozen=True)
class Outcome:
    event_id: str
    status: str  # applied, ignored, duplicate, held, failed


class WebhookService:
    """Owns ``payment_events``; applies each event through ``handlers``."""

    def __init__(self, db: Database, provider: PaymentProvider, terms: Terms, events: EventHub) -> None:
        self.db = db
        self.provider = provider
        self.terms = terms
        self.events = events

    def receive(self, payload: bytes, signature: str | None) -> Outcome:
        """Verify, store and apply one delivery. ``SignatureInvalid`` (400) changes nothing."""
        event = self.provider.verify(payload, signature)
        with self.db.session() as session:
            stmt = upsert(session, ProviderEvent).values(
                id=event["id"],
                type=event["type"],
                status="received",
                payload=event,
                attempts=0,
                received_at=utcnow(),
            )
            session.execute(stmt.on_conflict_do_nothing())
        return self.apply(event["id"])

    def apply(self, event_id: str, *, again: bool = False) -> Outcome:
        """Apply the stored event unless it is finished with; its outcome."""
        try:
            with self.db.session(exclusive=True) as session:
                row = session.get(ProviderEvent, event_id, with_for_update=True, populate_existing=True)
                if row is None:
                    return Outcome(event_id, "missing")
                if row.status in DONE:
                    return Outcome(event_id, "duplicate")
                applied: Applied = handle(session, self.terms, row.payload)
                row.status, row.applied_at, row.error, row.waiting_for = applied.outcome, utcnow(), None, None
                row.attempts += 1
        except Held as held:
            self._mark(event_id, "held", waiting_for=held.key)
            if not again:
                # The event that makes the object known may have committed after this handler
                # looked and before the mark above, and then found nothing waiting for it: one
                # more try now closes that gap (the row lock makes a second apply a duplicate).
                return self.apply(event_id, again=True)
            return Outcome(event_id, "held")
        except Exception as exc:  # the handler's changes are rolled back; the event is kept to retry
            log.exception("payment event %s failed", event_id)
            self._mark(event_id, "failed", error=f"{type(exc).__name__}: {exc}"[:2000])
            return Outcome(event_id, "failed")
        self.events.publish(*applied.events)
        for key in applied.known:
            for waiting in self._waiting_for(key):
                self.apply(waiting)
        return Outcome(event_id, applied.outcome)

    def _mark(
        self, event_id: str, status: str, *, waiting_for: str | None = None, error: str | None = None
    ) -> None:
        with self.db.session() as session:
            session.execute(
                sa.update(ProviderEvent)
                .where(ProviderEvent.id == event_id, ProviderEvent.status.not_in(DONE))
                .values(
                    status=status, waiting_for=waiting_for, error=error, attempts=ProviderEvent.attempts + 1
                )
            )

    def _waiting_for(self, key: str) -> list[str]:
        with self.db.session() as session:
            return list(
                session.execute(
                    sa.select(ProviderEvent.id)
                    .where(ProviderEvent.status == "held", ProviderEvent.waiting_for == key)
                    .order_by(ProviderEvent.received_at, ProviderEvent.id)
                ).scalars()
            )

    def retry(self, *, limit: int = 500) -> dict[str, int]:
        """Apply again the failed events (up to ``MAX_ATTEMPTS`` tries) and the held ones; counts."""
        with self.db.session() as session:
            ids = list(
                session.execute(
                    sa.select(ProviderEvent.id)
                    .where(
                        sa.or_(
                            ProviderEvent.status == "held",
                            sa.and_(
                                ProviderEvent.status.in_(("failed", "received")),
                                ProviderEvent.attempts < MAX_ATTEMPTS,
                            ),
                        )
                    )
                    .order_by(ProviderEvent.received_at, ProviderEvent.id)
                    .limit(limit)
                ).scalars()
            )
        counts: dict[str, int] = {}
        for event_id in ids:
            status = self.apply(event_id).status
            counts[status] = counts.get(status, 0) + 1
        return counts

    def listed(self, status: str | None, page: PageParams) -> tuple[list[ProviderEvent], str | None]:
        """Events newest first, of one status if given: what admins look at."""
        with self.db.session() as session:
            query: sa.Select = sa.select(ProviderEvent, *NEWEST_EVENTS.columns)
            if status:
                query = query.where(ProviderEvent.status == status)
            rows, cursor = keyset_page(session, query, NEWEST_EVENTS, page)
            session.expunge_all()
            return [row[0] for row in rows], cursor
