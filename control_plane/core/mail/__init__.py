"""Outgoing mail: a small Mailer interface, SMTP for production, the log on the embedded default."""

from __future__ import annotations

from typing import TYPE_CHECKING

from control_plane.core.mail.base import Mail, Mailer, MailError, MailNotConfigured, MailRejected
from control_plane.core.mail.log import LogMailer
from control_plane.core.mail.outbox import Outbox
from control_plane.core.mail.seal import MailSeal
from control_plane.core.mail.smtp import SmtpMailer, SmtpTarget

if TYPE_CHECKING:
    from control_plane.core.settings import Settings

__all__ = [
    "LogMailer",
    "Mail",
    "MailError",
    "MailNotConfigured",
    "MailRejected",
    "MailSeal",
    "Outbox",
    "Mailer",
    "SmtpMailer",
    "SmtpTarget",
    "mail_configured",
    "open_mailer",
]


def mail_configured(settings: Settings) -> bool:
    """True when mail can go out: an SMTP server is named, or the embedded default logs it."""
    return bool(settings.smtp_url) or settings.embedded


def open_mailer(settings: Settings) -> Mailer:
    """SMTP when ``smtp_url`` is set; the log on the embedded default; else MailNotConfigured."""
    if settings.smtp_url:
        return SmtpMailer(settings.smtp_url, sender=settings.mail_from)
    if settings.embedded:
        return LogMailer()
    raise MailNotConfigured("Mail is not configured on this server (set SOCIALFLOW_SMTP_URL).")
