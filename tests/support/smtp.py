"""A real SMTP server (aiosmtpd) on loopback that keeps every message it receives.

``smtp_server`` speaks plain SMTP; ``smtp_factory`` starts others: STARTTLS with a login, or TLS
from the first byte, with a throw-away CA whose certificate the client is given (``cafile``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

__all__ = ["SmtpServer", "link_in"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def link_in(message: EmailMessage, path: str) -> str:
    """The first link in the message's text whose path is ``path`` (e.g. "/reset-password")."""
    body = message.get_body(("plain",))
    assert body is not None, message
    text = body.get_content()
    found = re.search(rf"https?://\S+{re.escape(path)}\?token=[A-Za-z0-9_-]+", text)
    assert found, text
    return found.group(0)


def token_of(link: str) -> str:
    return link.rsplit("token=", 1)[1]


@dataclass
class SmtpServer:
    """What the server received. ``fail_next`` answers the next that many messages 451 (try later),
    ``reject_next`` 550 (no such mailbox)."""

    url: str
    messages: list[EmailMessage] = field(default_factory=list)
    #: (username, password) of each successful login.
    logins: list[tuple[str, str]] = field(default_factory=list)
    fail_next: int = 0
    reject_next: int = 0
    refused: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                self.refused += 1
                return "451 4.3.0 try again later"
            if self.reject_next > 0:
                self.reject_next -= 1
                self.refused += 1
                return "550 5.1.1 no such mailbox"
            message = message_from_bytes(envelope.content, policy=policy.default)
            assert isinstance(message, EmailMessage)
            self.messages.append(message)
        return "250 OK"

    def wait(self, count: int = 1, *, timeout: float = 20.0) -> list[EmailMessage]:
        """Wait until at least ``count`` messages arrived; returns all of them."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            assert time.monotonic() < deadline, f"{len(self.messages)} of {count} mails arrived"
            time.sleep(0.02)
        return list(self.messages)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


class _Authenticator:
    def __init__(self, server: SmtpServer, username: str, password: str) -> None:
        self.server, self.username, self.password = server, username, password

    def __call__(self, smtp: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            username, password = data.login.decode(), data.password.decode()
            if (username, password) == (self.username, self.password):
                self.server.logins.append((username, password))
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


def _certificate(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 and localhost signed by it: (ca, cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "socialflow test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


@pytest.fixture
def smtp_factory(tmp_path: Path) -> Iterator[Callable[..., SmtpServer]]:
    """``make(tls="none"|"starttls"|"implicit", login=(user, password) | None)`` starts a server;
    its ``url`` is what ``SOCIALFLOW_SMTP_URL`` would be. All are stopped at the end of the test."""
    controllers: list[Controller] = []

    def make(tls: str = "none", login: tuple[str, str] | None = None) -> SmtpServer:
        port = _free_port()
        server = SmtpServer(url="")
        kwargs: dict[str, Any] = {}
        query = ""
        if tls != "none":
            ca, cert, key = _certificate(tmp_path / f"tls-{port}")
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert, key)
            query = f"?cafile={ca}"
            if tls == "starttls":
                kwargs.update(tls_context=context, require_starttls=True)
                query += "&starttls=1"
            else:
                kwargs.update(ssl_context=context)
        if login is not None:
            kwargs.update(authenticator=_Authenticator(server, *login), auth_required=True)
        controller = Controller(server, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        controllers.append(controller)
        scheme = "smtps" if tls == "implicit" else "smtp"
        credentials = f"{login[0]}:{login[1]}@" if login else ""
        server.url = f"{scheme}://{credentials}127.0.0.1:{port}{query}"
        return server

    yield make
    for controller in controllers:
        controller.stop()


@pytest.fixture
def smtp_server(smtp_factory: Callable[..., SmtpServer]) -> SmtpServer:
    """A plain SMTP server on loopback."""
    return smtp_factory()
