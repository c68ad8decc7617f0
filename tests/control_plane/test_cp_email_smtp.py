"""The SMTP mailer against a real SMTP server on loopback: plain, STARTTLS with a login, implicit
TLS, certificate checks, refusals; and the seal that keeps a mail's token out of the jobs table."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography.fernet import InvalidToken
from support.smtp import SmtpServer

from control_plane.core.mail import Mail, MailError, MailRejected, MailSeal, SmtpMailer, SmtpTarget

SENDER = "Social Flow <no-reply@flow.example>"
MAIL = Mail(to="ada@example.com", subject="Hello there", text="A line with a link: http://x/y?token=abc\n")


def test_urls_name_tls_mode_port_credentials_and_timeout() -> None:
    assert SmtpTarget.from_url("smtp://mx.example") == SmtpTarget("mx.example", 25, "none")
    t = SmtpTarget.from_url("smtp://u%40x:p%3Aw@mx.example?starttls=1&timeout=3")
    assert (t.port, t.tls, t.username, t.password, t.timeout) == (587, "starttls", "u@x", "p:w", 3.0)
    assert SmtpTarget.from_url("smtps://mx.example:2465").tls == "implicit"
    assert SmtpTarget.from_url("smtps://mx.example").port == 465
    with pytest.raises(ValueError):
        SmtpTarget.from_url("http://mx.example")


@pytest.mark.parametrize("tls", ["none", "starttls", "implicit"])
def test_a_mail_arrives_whole(smtp_factory: Callable[..., SmtpServer], tls: str) -> None:
    login = ("mailer", "s3cret pass") if tls == "starttls" else None
    server = smtp_factory(tls=tls, login=login)
    SmtpMailer(server.url, sender=SENDER).send(MAIL)
    (message,) = server.wait(1)
    assert message["To"] == "ada@example.com" and message["From"] == SENDER
    assert message["Subject"] == "Hello there" and message["Message-ID"].endswith("@flow.example>")
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert text.replace("\r\n", "\n") == MAIL.text
    assert server.logins == ([login] if login else [])


def test_tls_checks_the_certificate(smtp_factory: Callable[..., SmtpServer]) -> None:
    server = smtp_factory(tls="implicit")
    untrusted = server.url.split("?", 1)[0]  # the system's CAs do not know the test CA
    with pytest.raises(MailError) as caught:
        SmtpMailer(untrusted, sender=SENDER).send(MAIL)
    assert not isinstance(caught.value, MailRejected) and not server.messages


def test_login_is_refused_without_tls_and_with_a_wrong_password(
    smtp_factory: Callable[..., SmtpServer],
) -> None:
    server = smtp_factory(tls="starttls", login=("mailer", "right"))
    wrong = server.url.replace("mailer:right@", "mailer:wrong@")
    with pytest.raises(MailRejected):
        SmtpMailer(wrong, sender=SENDER).send(MAIL)
    no_tls = server.url.replace("&starttls=1", "")
    with pytest.raises(MailError):
        SmtpMailer(no_tls, sender=SENDER).send(MAIL)
    assert not server.messages and not server.logins


def test_a_server_that_is_down_or_busy_is_worth_a_retry(smtp_server: SmtpServer) -> None:
    smtp_server.fail_next = 1
    with pytest.raises(MailError) as caught:
        SmtpMailer(smtp_server.url, sender=SENDER).send(MAIL)
    assert not isinstance(caught.value, MailRejected) and "451" in str(caught.value)
    SmtpMailer(smtp_server.url, sender=SENDER).send(MAIL)
    assert len(smtp_server.wait(1)) == 1
    with pytest.raises(MailError):
        SmtpMailer("smtp://127.0.0.1:9?timeout=2", sender=SENDER).send(MAIL)  # nothing listens on 9


def test_a_sealed_mail_opens_only_with_our_secrets() -> None:
    old, new = b"o" * 48, b"n" * 48
    sealed = MailSeal(old).seal(MAIL)
    assert "token=abc" not in sealed and "ada@example.com" not in sealed
    assert MailSeal(new, previous=[old]).open(sealed) == MAIL
    with pytest.raises(InvalidToken):
        MailSeal(new).open(sealed)
    with pytest.raises(InvalidToken):
        MailSeal(old).open(sealed[:-4] + "AAAA")
