"""Payment providers behind one interface: Stripe, and the local provider of the embedded default."""

from __future__ import annotations

from control_plane.core.db import Database
from control_plane.payments.config import StripeConfig, parse_payments_url
from control_plane.payments.providers.base import (
    TOLERANCE,
    Checkout,
    Intent,
    PaymentProvider,
    PlanSpec,
    sign,
    verify,
)
from control_plane.payments.providers.local import LocalProvider, local_secret

__all__ = [
    "TOLERANCE",
    "Checkout",
    "Intent",
    "LocalProvider",
    "PaymentProvider",
    "PlanSpec",
    "StripeConfig",
    "local_secret",
    "open_provider",
    "parse_payments_url",
    "sign",
    "verify",
]


def open_provider(url: str | None, db: Database, platform_secret: bytes, public_url: str) -> PaymentProvider:
    """The provider ``SOCIALFLOW_PAYMENTS_URL`` names: Stripe, or the local one."""
    config = parse_payments_url(url)
    if config is None:
        return LocalProvider(db, local_secret(platform_secret), public_url)
    from control_plane.payments.providers.stripe import StripeProvider

    return StripeProvider(config.api_key, config.webhook_secret, api_base=config.api_base)
