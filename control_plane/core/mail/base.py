"""A message, the interface every way of sending one implements, and its errors."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from control_plane.core.errors import ProblemError

__all__ = ["Mail", "Mailer", "MailError", "MailRejected", "MailNotConfigured"]


@dataclass(frozen=True)
class Mail:
    """A message to one recipient: plain text, with an HTML alternative when ``html`` is given,
    and extra ``headers`` (``List-Unsubscribe`` and the like) as (name, value) pairs."""

    to: str
    subject: str
    text: str
    html: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


class MailError(ProblemError):
    """Sending failed for a reason that may pass (server down, timeout, 4xx): worth a retry."""

    code = "MAIL_FAILED"
    status = 503
    title = "Mail could not be sent"


class MailRejected(MailError):
    """The server refused the message for good (5xx: no such mailbox, sender refused)."""

    code = "MAIL_REJECTED"


class MailNotConfigured(MailError):
    """No way to send mail is configured (SOCIALFLOW_SMTP_URL is unset outside the embedded default)."""

    code = "MAIL_NOT_CONFIGURED"
    title = "Mail is not configured"


class Mailer(ABC):
    """Delivers mail. ``send`` blocks until the message is handed over; call it off the request
    path (the ``email.send`` job does)."""

    #: A short name for logs and job results: "smtp", "log".
    name: str

    @abstractmethod
    def send(self, mail: Mail) -> None:
        """Hand the message over; raise MailError to be retried, MailRejected when no retry can help."""
