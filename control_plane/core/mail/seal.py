"""Messages sealed for the job queue.

A verification or reset mail carries a live token, and the platform keeps only tokens' hashes; the
``email.send`` job's arguments (a database row) hold the message encrypted and authenticated with a
key derived from the platform secret, and are wiped once the message is sent.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from control_plane.core.mail.base import Mail

__all__ = ["MailSeal", "InvalidToken"]


def _fernet(secret: bytes) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"mail:" + secret).digest()))


class MailSeal:
    """Seals with ``secret``; opens what ``secret`` or any of ``previous`` sealed (key rotation)."""

    def __init__(self, secret: bytes, previous: Sequence[bytes] = ()) -> None:
        self._keys = MultiFernet([_fernet(secret), *(_fernet(p) for p in previous)])

    def seal(self, mail: Mail) -> str:
        fields: dict[str, object] = {"to": mail.to, "subject": mail.subject, "text": mail.text}
        if mail.html is not None:
            fields["html"] = mail.html
        if mail.headers:
            fields["headers"] = [list(h) for h in mail.headers]
        payload = json.dumps(fields)
        return self._keys.encrypt(payload.encode()).decode()

    def open(self, sealed: str) -> Mail:
        """Raises InvalidToken if it was not sealed by one of our secrets or was altered."""
        data = json.loads(self._keys.decrypt(sealed.encode()))
        html = data.get("html")
        return Mail(
            to=str(data["to"]),
            subject=str(data["subject"]),
            text=str(data["text"]),
            html=str(html) if html is not None else None,
            headers=tuple((str(k), str(v)) for k, v in data.get("headers", [])),
        )
