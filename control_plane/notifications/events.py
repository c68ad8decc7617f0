"""Events other domains publish on the hub to notify someone, for sources that have no event of
their own yet: payments and tips, moderation decisions, or anything else.

Payments (issue #17) and moderation (issue #19) publish these once their change is committed::

    services.events.publish(PaymentReceived(recipient_id=creator, payment_id=p.id, amount=500,
                                            currency="eur", payer_id=fan, tip=True))
    services.events.publish(ModerationDecided(user_id=author, subject_type="video",
                                              subject_id=video.id, action="remove"))

and ``NotificationRequested`` takes any type of ``control_plane.notifications.kinds``. The
notifications domain turns them into notifications in a job, as it does social events: the
publisher never waits for a push service or a mail server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from control_plane.core.events import Event

__all__ = ["ModerationDecided", "NotificationRequested", "PaymentReceived"]


@dataclass(frozen=True)
class NotificationRequested(Event):
    """Notify ``user_id`` of ``type`` about ``subject_type``/``subject_id``. ``data`` holds small
    public facts to show (JSON values); never private text."""

    user_id: str
    type: str
    subject_type: str
    subject_id: str
    actor_id: str | None = None
    context_type: str | None = None
    context_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PaymentReceived(Event):
    """Money reached ``recipient_id``: a membership payment, or a ``tip`` (integer minor units)."""

    recipient_id: str
    payment_id: str
    amount: int
    currency: str
    payer_id: str | None = None
    tip: bool = False


@dataclass(frozen=True)
class ModerationDecided(Event):
    """A moderator acted on ``user_id``'s content (``action``: remove, restrict, suspend, dismiss)."""

    user_id: str
    subject_type: str
    subject_id: str
    action: str
