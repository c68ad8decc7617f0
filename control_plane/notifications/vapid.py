"""The platform's VAPID key (RFC 8292), which signs every Web Push it sends.

Kept like the secret key: on the embedded default it is generated once and kept in the data
directory (``vapid_private_key.pem``, mode 0600); in production it is a setting
(``SOCIALFLOW_VAPID_PRIVATE_KEY``: a PEM, or the base64url raw key), and without it Web Push is
off. Browsers subscribe with its public key; changing it strands every subscription.
"""

from __future__ import annotations

import base64
import os
from email.utils import parseaddr

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02

from control_plane.core.settings import ConfigError, Settings

__all__ = ["KEY_FILE", "public_key", "subject", "vapid_key"]

KEY_FILE = "vapid_private_key.pem"


def _parse(value: str) -> Vapid02:
    try:
        if "BEGIN" in value:
            return Vapid02.from_pem(value.strip().encode())
        return Vapid02.from_string(value.strip())
    except Exception as exc:  # py_vapid raises whatever its decoders raise
        raise ConfigError(
            "SOCIALFLOW_VAPID_PRIVATE_KEY is not a P-256 private key (PEM or base64url)"
        ) from exc


def vapid_key(settings: Settings) -> Vapid02 | None:
    """The key: the setting, else (embedded default) the one kept in the data directory, made on
    first use; None in production without the setting (Web Push is then off)."""
    if settings.vapid_private_key:
        return _parse(settings.vapid_private_key)
    if not settings.embedded:
        return None
    path = settings.data_dir / KEY_FILE
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        key = Vapid02()
        key.generate_keys()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            pass
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(key.private_pem())
    return _parse(path.read_text())


def public_key(key: Vapid02) -> str:
    """The ``applicationServerKey`` browsers subscribe with: the uncompressed P-256 point, base64url."""
    raw = key.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def subject(settings: Settings) -> str:
    """The VAPID ``sub`` claim: the setting, the public URL when it is https, else a mailto: of
    the mail sender."""
    if settings.vapid_subject:
        return settings.vapid_subject
    if settings.effective_public_url.startswith("https://"):
        return settings.effective_public_url
    address = parseaddr(settings.mail_from)[1] or "no-reply@localhost"
    return f"mailto:{address}"
