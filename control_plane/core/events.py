"""The events hub: domain services tell the rest of the plane what happened, in one place.

A domain defines its events as frozen dataclasses deriving from :class:`Event` (``PostCreated``,
``UserFollowed``, ``CommentWritten``: see ``control_plane.social.events``) and publishes one
*after* the transaction that made it true has committed, so a subscriber never sees an event
for a change that was rolled back. Subscribers are registered once, at wiring
(``control_plane.services.build_services``); the feed, notifications and search subscribe here
instead of being called by the domains that produce the events.

Delivery is synchronous, in the publishing thread, in the order subscribers were registered. A
subscriber's error is logged with its traceback and does not reach the publisher or the other
subscribers: the change it reports is already committed, and a subscriber that must not miss an
event keeps its own way to catch up (search's periodic refresh does).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["Event", "EventHub", "Handler"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """Base of every domain event. Subclasses are frozen dataclasses of ids and plain values."""


E = TypeVar("E", bound=Event)
Handler = Callable[[Any], object]


class EventHub:
    """Typed publish/subscribe inside one process.

    A handler subscribed to a class receives events of that class and of its subclasses, so a
    subscriber to :class:`Event` sees everything (an audit trail, a test's recorder).
    """

    def __init__(self) -> None:
        self._handlers: list[tuple[type[Event], Handler]] = []
        self._lock = threading.Lock()

    def subscribe(self, kind: type[E], handler: Callable[[E], object]) -> Callable[[], None]:
        """Call ``handler(event)`` for every event that is a ``kind``; returns the unsubscriber."""
        entry: tuple[type[Event], Handler] = (kind, handler)
        with self._lock:
            self._handlers.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._handlers:
                    self._handlers.remove(entry)

        return unsubscribe

    def publish(self, *events: Event) -> None:
        """Deliver each event to its subscribers. Call it after the commit that made it true."""
        with self._lock:
            handlers = list(self._handlers)
        for event in events:
            for kind, handler in handlers:
                if not isinstance(event, kind):
                    continue
                try:
                    handler(event)
                except Exception:  # the change is committed; one subscriber's bug must not undo it
                    log.exception("subscriber %r failed on %r", handler, event)

    def after_commit(self, session: Session, *events: Event) -> None:
        """Publish ``events`` once ``session``'s transaction commits, and never if it rolls back:
        for a change made inside a transaction that the caller (not the service) commits."""
        from sqlalchemy import event as orm_event

        def publish(_session: Session) -> None:
            orm_event.remove(session, "after_soft_rollback", forget)
            self.publish(*events)

        def forget(_session: Session, _transaction: object) -> None:
            if orm_event.contains(session, "after_commit", publish):
                orm_event.remove(session, "after_commit", publish)

        orm_event.listen(session, "after_commit", publish, once=True)
        orm_event.listen(session, "after_soft_rollback", forget, once=True)
