"""The payments domain's errors beyond the plane's tree (``control_plane.core.errors``)."""

from __future__ import annotations

from control_plane.core.errors import BadRequest, Conflict, NotFound, ProblemError, ServiceUnavailable

__all__ = [
    "AlreadyMember",
    "InvalidMoney",
    "NoSuchPlan",
    "NoSuchSubscription",
    "ProviderFailed",
    "SignatureInvalid",
    "WebhookDeferred",
]


class SignatureInvalid(BadRequest):
    """A webhook whose ``Stripe-Signature`` is missing, wrong, for another secret or too old."""

    code, title = "WEBHOOK_SIGNATURE_INVALID", "Webhook signature invalid"


class InvalidMoney(ProblemError):
    """An amount or currency the platform does not take (out of bounds, unknown currency)."""

    status, code, title = 422, "INVALID_AMOUNT", "Invalid amount"


class NoSuchPlan(NotFound):
    code = "PLAN_NOT_FOUND"
    default_detail = "No such plan."


class NoSuchSubscription(NotFound):
    code = "SUBSCRIPTION_NOT_FOUND"
    default_detail = "No such subscription."


class ProviderFailed(ServiceUnavailable):
    """The payment provider refused or could not be reached; nothing was changed here."""

    code, title = "PAYMENT_PROVIDER_FAILED", "Payment provider unavailable"


class WebhookDeferred(ServiceUnavailable):
    """An event whose handler failed: stored, retried, and listed for admins."""

    code, title = "WEBHOOK_DEFERRED", "Event not applied yet"


class AlreadyMember(Conflict):
    code = "ALREADY_MEMBER"
