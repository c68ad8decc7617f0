"""Sending over SMTP (smtplib), with the TLS mode, credentials and timeout taken from one URL.

``smtp://[user:password@]host[:port]`` sends in the clear (port 25), ``?starttls=1`` upgrades the
connection with STARTTLS (port 587) and ``smtps://`` speaks TLS from the first byte (port 465).
Certificates are verified against the system's CAs, or against ``?cafile=/path/ca.pem`` for a
private CA. ``?timeout=`` is seconds for connecting and for each reply (default 10).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

from control_plane.core.mail.base import Mail, Mailer, MailError, MailRejected

__all__ = ["SmtpMailer", "SmtpTarget"]

_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to connect; ``tls`` is "none", "starttls" or "implicit"; ``timeout`` seconds."""

    host: str
    port: int
    tls: str
    username: str | None = None
    password: str | None = None
    cafile: str | None = None
    timeout: float = 10.0

    @classmethod
    def from_url(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("an SMTP URL looks like smtp://[user:password@]host[:port][?starttls=1]")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if parts.scheme == "smtps":
            tls, port = "implicit", 465
        elif query.get("starttls", "").lower() in _TRUE:
            tls, port = "starttls", 587
        else:
            tls, port = "none", 25
        return cls(
            host=parts.hostname,
            port=parts.port or port,
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            cafile=query.get("cafile") or None,
            timeout=float(query.get("timeout", 10.0)),
        )


class SmtpMailer(Mailer):
    name = "smtp"

    def __init__(self, url: str, *, sender: str) -> None:
        self.target = SmtpTarget.from_url(url)
        self.sender = sender

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.target.cafile)

    def _message(self, mail: Mail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = formatdate(localtime=False)
        domain = parseaddr(self.sender)[1].rpartition("@")[2] or None
        message["Message-ID"] = make_msgid(domain=domain)
        for name, value in mail.headers:
            message[name] = value
        message.set_content(mail.text)
        if mail.html is not None:
            message.add_alternative(mail.html, subtype="html")
        return message

    def send(self, mail: Mail) -> None:
        t = self.target
        try:
            smtp: smtplib.SMTP
            if t.tls == "implicit":
                smtp = smtplib.SMTP_SSL(t.host, t.port, timeout=t.timeout, context=self._tls())
            else:
                smtp = smtplib.SMTP(t.host, t.port, timeout=t.timeout)
            with smtp:
                if t.tls == "starttls":
                    smtp.starttls(context=self._tls())
                if t.username:
                    smtp.login(t.username, t.password or "")
                smtp.send_message(self._message(mail))
        except smtplib.SMTPRecipientsRefused as exc:
            raise MailRejected(f"the SMTP server refused the recipient: {exc.recipients}") from exc
        except smtplib.SMTPResponseException as exc:
            error = MailRejected if 500 <= exc.smtp_code < 600 else MailError
            raise error(f"the SMTP server answered {exc.smtp_code} {exc.smtp_error!r}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise MailError(f"could not send mail through {t.host}:{t.port}: {exc}") from exc
