"""Notification mails: one at once for the types a person asked to be mailed, and digests of the
rest; multipart plain text and HTML, each with a one-click unsubscribe (RFC 8058).

The unsubscribe link carries a token signed with the platform secret naming the person and what
the mail was (a type, or the digest); it needs no sign-in. Opening it shows a page with one
button (mail scanners open links); the mail program's one-click ``POST`` with
``List-Unsubscribe=One-Click`` unsubscribes at once. Mail goes only to verified addresses.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.accounts.models import User
from control_plane.core.db import Database
from control_plane.core.errors import NotFound
from control_plane.core.mail import Mail, Outbox
from control_plane.notifications.kinds import KINDS, sentence

__all__ = ["Composer", "Mailbag", "UnsubscribeTokens", "BadUnsubscribeToken", "UNSUBSCRIBE_PATH"]

log = logging.getLogger(__name__)

UNSUBSCRIBE_PATH = "/api/v1/notifications/unsubscribe"
DIGEST = "digest"


class BadUnsubscribeToken(NotFound):
    """Answered as 404, like an incomplete mailed link: nothing of that name."""

    code = "INVALID_UNSUBSCRIBE_TOKEN"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class UnsubscribeTokens:
    """``user id`` and ``scope`` (a type, or ``digest``) signed with the secret; verified with it
    or any previous secret. They do not expire: an old mail's link keeps working."""

    def __init__(self, secret: bytes, previous: Sequence[bytes] = ()) -> None:
        self.keys = [hashlib.sha256(b"unsubscribe:" + s).digest() for s in (secret, *previous)]

    def make(self, user_id: str, scope: str) -> str:
        body = _b64(json.dumps([user_id, scope], separators=(",", ":")).encode())
        return f"{body}.{_b64(self._sign(self.keys[0], body))}"

    def read(self, token: str) -> tuple[str, str]:
        """(user id, scope); BadUnsubscribeToken for anything we did not sign."""
        body, _, signature = token.partition(".")
        try:
            given = _unb64(signature)
            if not any(hmac.compare_digest(given, self._sign(k, body)) for k in self.keys):
                raise ValueError("bad signature")
            user_id, scope = json.loads(_unb64(body))
            if not isinstance(user_id, str) or not isinstance(scope, str):
                raise ValueError("bad body")
        except (ValueError, TypeError) as exc:
            raise BadUnsubscribeToken(
                "This unsubscribe link is not one of ours, or it was cut short."
            ) from exc
        if scope != DIGEST and scope not in KINDS:
            raise BadUnsubscribeToken("This unsubscribe link names nothing to unsubscribe from.")
        return user_id, scope

    @staticmethod
    def _sign(key: bytes, body: str) -> bytes:
        return hmac.new(key, body.encode(), hashlib.sha256).digest()[:16]


@dataclass(frozen=True)
class Recipient:
    id: str
    username: str
    email: str


def recipients(session: Session, user_ids: Iterable[str]) -> dict[str, Recipient]:
    """The users who can be mailed (active, with a verified address), by id."""
    rows = session.execute(
        sa.select(User.id, User.username, User.email).where(
            User.id.in_(set(user_ids)), User.is_active.is_(True), User.email_verified_at.is_not(None)
        )
    )
    return {r.id: Recipient(r.id, r.username, r.email) for r in rows}


LAYOUT = """<!doctype html><html><body style="font:15px/1.5 system-ui,sans-serif;color:#1d1d1f">
{body}
<p style="color:#6b6b6b;font-size:13px">{why} <a href="{unsubscribe}">Unsubscribe</a>.</p>
</body></html>"""


class Composer:
    """Writes the mails; ``public_url`` is where links point."""

    def __init__(self, public_url: str, tokens: UnsubscribeTokens) -> None:
        self.public_url = public_url.rstrip("/")
        self.tokens = tokens

    def unsubscribe_url(self, user_id: str, scope: str) -> str:
        return f"{self.public_url}{UNSUBSCRIBE_PATH}?token={self.tokens.make(user_id, scope)}"

    def _headers(self, url: str) -> tuple[tuple[str, str], ...]:
        return (("List-Unsubscribe", f"<{url}>"), ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))

    def inbox_url(self) -> str:
        return f"{self.public_url}/api/v1/notifications"

    def immediate(self, to: Recipient, item: dict[str, Any], actor: str | None) -> Mail:
        """One notification, at once."""
        text = sentence(item["type"], actor, 0, item["subject"][0])
        url = self.unsubscribe_url(to.id, item["type"])
        why = f"You get this mail because you asked to be mailed of this ({item['type']})."
        plain = (
            f"Hello {to.username},\n\n{text}.\n\nSee your notifications: {self.inbox_url()}\n\n"
            f"{why}\nUnsubscribe: {url}\n"
        )
        html = LAYOUT.format(
            body=f"<p>Hello {escape(to.username)},</p><p><strong>{escape(text)}</strong>.</p>"
            f'<p><a href="{escape(self.inbox_url())}">See your notifications</a></p>',
            why=escape(why),
            unsubscribe=escape(url),
        )
        return Mail(to=to.email, subject=text, text=plain, html=html, headers=self._headers(url))

    def digest(self, to: Recipient, lines: Sequence[str], more: int, frequency: str) -> Mail:
        """What happened since the last digest: ``lines`` (newest first) and ``more`` untold."""
        url = self.unsubscribe_url(to.id, DIGEST)
        count = len(lines) + more
        subject = f"Your {frequency} Social Flow digest: {count} new notification{'s' if count != 1 else ''}"
        tail = f"\n...and {more} more.\n" if more else "\n"
        why = f"You get this {frequency} digest of the notifications you did not read."
        plain = (
            f"Hello {to.username},\n\nSince your last digest:\n\n"
            + "".join(f"- {line}\n" for line in lines)
            + tail
            + f"\nSee them all: {self.inbox_url()}\n\n{why}\nUnsubscribe: {url}\n"
        )
        items = "".join(f"<li>{escape(line)}</li>" for line in lines)
        html = LAYOUT.format(
            body=f"<p>Hello {escape(to.username)},</p><p>Since your last digest:</p><ul>{items}</ul>"
            + (f"<p>...and {more} more.</p>" if more else "")
            + f'<p><a href="{escape(self.inbox_url())}">See them all</a></p>',
            why=escape(why),
            unsubscribe=escape(url),
        )
        return Mail(to=to.email, subject=subject, text=plain, html=html, headers=self._headers(url))


class Mailbag:
    """Posts the immediate mails of an ingest (``NotificationService``'s ``mails``) through the
    outbox, which hands each to the ``email.send`` job (retried with backoff, given up with a
    record on the job), or writes it to the log on the embedded default without SMTP."""

    def __init__(self, db: Database, composer: Composer, outbox: Outbox) -> None:
        self.db = db
        self.composer = composer
        self.outbox = outbox

    def __call__(self, items: list[dict[str, Any]]) -> None:
        if not self.outbox.configured:
            return
        with self.db.session() as session:
            to = recipients(session, (i["user"] for i in items))
            actors = {i["actor"] for i in items if i.get("actor")}
            names = dict(session.execute(sa.select(User.id, User.username).where(User.id.in_(actors))).all())
        for item in items:
            recipient = to.get(item["user"])
            if recipient is None:
                continue
            mail = self.composer.immediate(recipient, item, names.get(item.get("actor") or ""))
            try:
                self.outbox.post(mail, subject=f"user:{recipient.id}")
            except Exception:  # the notification stands in the inbox; this one mail is lost
                log.exception("notification mail to user %s could not be queued", recipient.id)
