"""The event a domain publishes on the hub to notify someone of something that has no event of
its own: ``NotificationRequested`` takes any type of ``control_plane.notifications.kinds``.

Payments (``control_plane.payments.events``: ``PaymentReceived``, ``TipReceived``) and
moderation (``control_plane.moderation.events.ModerationAction``) are heard through their own
events. The notifications domain turns all of them into notifications in a job, as it does social
events: the publisher never waits for a push service or a mail server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from control_plane.core.events import Event

__all__ = ["NotificationRequested"]


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
