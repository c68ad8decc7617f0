"""Where the control plane posts mail, without ever waiting on a mail server.

With an SMTP server configured, each message is sealed into an ``email.send`` job: a worker sends
it, and retries if the server is slow or down. On the embedded default with no SMTP server the
message is written to the log at once (nothing can stall). Otherwise mail is not configured.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from control_plane.core.mail.base import Mail, MailNotConfigured
from control_plane.core.mail.log import LogMailer
from control_plane.core.mail.seal import MailSeal

if TYPE_CHECKING:
    from control_plane.core.settings import Settings

__all__ = ["Outbox"]

#: Enqueues a job: ``enqueue_job(kind, args=..., subject=...)``.
EnqueueJob = Callable[..., Any]


class Outbox:
    def __init__(self, settings: Settings, enqueue_job: EnqueueJob) -> None:
        self._enqueue = enqueue_job
        self._seal: MailSeal | None = None
        self._log: LogMailer | None = None
        if settings.smtp_url:
            previous = [p.encode() for p in settings.previous_secret_keys]
            self._seal = MailSeal(settings.secret_bytes, previous)
        elif settings.embedded:
            self._log = LogMailer()

    @property
    def configured(self) -> bool:
        return self._seal is not None or self._log is not None

    def post(self, mail: Mail, *, subject: str | None = None) -> None:
        """Queue the message (``subject`` tags the job, e.g. ``user:<id>``). Raises
        MailNotConfigured, or the enqueue's own error if the job queue is unreachable."""
        if self._seal is not None:
            self._enqueue("email.send", args={"sealed": self._seal.seal(mail)}, subject=subject)
        elif self._log is not None:
            self._log.send(mail)
        else:
            raise MailNotConfigured("Mail is not configured on this server (set SOCIALFLOW_SMTP_URL).")
