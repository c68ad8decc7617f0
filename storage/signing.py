"""HMAC-SHA256 signed URLs for blobs served by the control plane (the embedded default).

The signature covers the key and the expiry time, so neither can be changed by the holder.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import quote

from .errors import SignatureInvalid
from .keys import validate_key

__all__ = ["sign", "signed_blob_url", "verify_signature"]


def sign(secret: bytes, key: str, expires: int) -> str:
    """Hex HMAC-SHA256 of ``key`` and ``expires`` (Unix seconds) under ``secret``."""
    message = f"{key}\n{expires}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def signed_blob_url(secret: bytes, key: str, expires_in: int, public_base: str | None, now: float) -> str:
    """``{public_base}/blobs/{key}?expires=...&signature=...``; a relative URL when no base is given."""
    validate_key(key)
    if not isinstance(expires_in, int) or expires_in <= 0:
        raise ValueError(f"expires_in must be a positive number of seconds, got {expires_in!r}")
    expires = int(now) + expires_in
    base = (public_base or "").rstrip("/")
    return f"{base}/blobs/{quote(key)}?expires={expires}&signature={sign(secret, key, expires)}"


def verify_signature(
    secret: bytes, key: str, expires: int | str, signature: str, *, now: float | None = None
) -> None:
    """Return if ``signature`` is valid for ``key`` and unexpired, else raise ``SignatureInvalid``.

    ``expires`` is the query value as received (Unix seconds). The compare is constant-time.
    """
    try:
        expires_at = int(expires)
    except (TypeError, ValueError) as exc:
        raise SignatureInvalid("the expires parameter is not a number") from exc
    expected = sign(secret, key, expires_at)
    if not hmac.compare_digest(expected.encode(), str(signature).encode("utf-8", "replace")):
        raise SignatureInvalid("the URL signature does not match")
    if expires_at < (time.time() if now is None else now):
        raise SignatureInvalid("the signed URL has expired")
