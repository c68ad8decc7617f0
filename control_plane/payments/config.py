"""``SOCIALFLOW_PAYMENTS_URL``: which provider, with which key and webhook secret.

Kept free of the plane's imports: the settings validate the URL with :func:`parse_payments_url`.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

__all__ = ["StripeConfig", "parse_payments_url"]


class StripeConfig:
    """What ``stripe://?api_key=...&webhook_secret=...[&api_base=...]`` says; its repr hides the secrets."""

    def __init__(self, api_key: str, webhook_secret: str, api_base: str | None) -> None:
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.api_base = api_base

    def __repr__(self) -> str:
        return f"StripeConfig(api_base={self.api_base!r})"


def parse_payments_url(url: str | None) -> StripeConfig | None:
    """None for the local provider (no URL, or ``local://``); ``ValueError`` for anything else
    but a Stripe URL with its key and webhook secret (the message never repeats them)."""
    if not url or url.startswith("local:"):
        return None
    parts = urlsplit(url)
    if parts.scheme != "stripe":
        raise ValueError("use stripe://?api_key=...&webhook_secret=... or local://")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    key, secret, base = query.get("api_key", ""), query.get("webhook_secret", ""), query.get("api_base")
    if not key.startswith(("sk_", "rk_")):
        raise ValueError("api_key is required (a Stripe secret or restricted key, sk_... or rk_...)")
    if len(secret) < 16:
        raise ValueError("webhook_secret is required (the endpoint's signing secret, whsec_...)")
    if base and urlsplit(base).scheme not in ("http", "https"):
        raise ValueError("api_base must be an http(s) URL")
    return StripeConfig(key, secret, base)
