"""The mailer of the embedded default: each message is written to the log, so a self-hoster with
no mail server can still follow a verification or reset link."""

from __future__ import annotations

import logging

from control_plane.core.mail.base import Mail, Mailer

__all__ = ["LogMailer"]

log = logging.getLogger(__name__)


class LogMailer(Mailer):
    name = "log"

    def send(self, mail: Mail) -> None:
        log.info("mail to %s: %s\n%s", mail.to, mail.subject, mail.text, extra={"mail_to": mail.to})
