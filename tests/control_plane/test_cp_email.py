"""Email verification and password reset on a running platform, with the mails received over SMTP
by a real server on loopback: links, single use, expiry, voiding, no enumeration, rate limits."""

from __future__ import annotations

import hashlib
import logging
import secrets
import sqlite3
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import redis
import sqlalchemy as sa
from support.platform import Platform, embedded, live_server, production
from support.smtp import SmtpServer, link_in, token_of

from control_plane.accounts.errors import WeakPassword
from control_plane.accounts.models import AuditEvent, EmailToken, User
from control_plane.accounts.passwords import PasswordPolicy, common_passwords
from control_plane.core.db import utcnow
from control_plane.core.settings import load_settings
from control_plane.jobs.models import Job

PW = "correct horse battery"
PUBLIC_URL = "https://flow.example"


@pytest.fixture
def mail_platform(
    tmp_path: Path, platform_factory: Callable[..., Platform], smtp_server: SmtpServer
) -> Platform:
    """The embedded default with an SMTP server: mail goes out through email.send jobs."""
    return platform_factory(embedded(tmp_path, smtp_url=smtp_server.url, public_url=PUBLIC_URL))


def mails(server: SmtpServer, to: str, subject: str, count: int = 1) -> list:
    deadline = time.monotonic() + 20
    while True:
        found = [m for m in server.messages if m["To"] == to and m["Subject"] == subject]
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"{len(found)} of {count} mails {subject!r} to {to}"
        time.sleep(0.02)


def verify_mails(server: SmtpServer, to: str, count: int = 1) -> list[str]:
    found = mails(server, to, "Confirm your email address", count)
    return [token_of(link_in(m, "/verify-email")) for m in found]


def reset_mails(server: SmtpServer, to: str, count: int = 1) -> list[str]:
    found = mails(server, to, "Reset your password", count)
    return [token_of(link_in(m, "/reset-password")) for m in found]


def logged_link(caplog: pytest.LogCaptureFixture, path: str) -> str:
    """The last link to ``path`` that the log mailer wrote."""
    found = [
        word
        for record in caplog.records
        if record.name == "control_plane.core.mail.log"
        for word in record.getMessage().split()
        if f"{path}?token=" in word
    ]
    assert found, caplog.text
    return found[-1]


def problem(r: httpx.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == code, body
    return body


def finished_mail_job(p: Platform) -> Job:
    """The platform's one email.send job, once its worker has recorded how it ended."""
    deadline = time.monotonic() + 20
    while True:
        with p.services.db.session() as session:
            (job,) = session.scalars(sa.select(Job).where(Job.kind == "email.send"))
            session.expunge(job)
        if job.status in ("succeeded", "failed"):
            return job
        assert time.monotonic() < deadline, job.status
        time.sleep(0.02)


def audit_kinds(p: Platform) -> list[str]:
    with p.services.db.session() as session:
        return list(session.scalars(sa.select(AuditEvent.kind).order_by(AuditEvent.id)))


def me(p: Platform, headers: dict[str, str]) -> httpx.Response:
    return p.client.get("/api/v1/users/me", headers=headers)


def test_register_mails_a_link_that_verifies_once(mail_platform: Platform, smtp_server: SmtpServer) -> None:
    p = mail_platform
    headers = p.user("ada")
    (message,) = mails(smtp_server, "ada@example.com", "Confirm your email address")
    link = link_in(message, "/verify-email")
    assert link.startswith(f"{PUBLIC_URL}/verify-email?token=")
    token = token_of(link)
    assert me(p, headers).json()["email_verified"] is False

    r = p.client.post("/api/v1/auth/verify-email", json={"token": token})
    assert r.status_code == 204, r.text
    assert me(p, headers).json()["email_verified"] is True
    problem(p.client.post("/api/v1/auth/verify-email", json={"token": token}), 403, "EMAIL_TOKEN_INVALID")
    problem(p.client.post("/api/v1/auth/verify-email/send", headers=headers), 409, "EMAIL_ALREADY_VERIFIED")

    # Only the token's hash is kept, and the sealed mail is wiped from the job once sent.
    with p.services.db.session() as session:
        (row,) = session.scalars(sa.select(EmailToken))
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and row.used_at is not None
    job = finished_mail_job(p)
    assert job.status == "succeeded" and job.args == {"sent": True}
    assert job.result == {"sent": True, "via": "smtp"}
    raw = p.services.db.engine.raw_connection()
    try:
        dump = "\n".join(raw.driver_connection.iterdump())  # type: ignore[union-attr]
    finally:
        raw.close()
    assert token[:20] not in dump and hashlib.sha256(token.encode()).hexdigest() in dump
    assert {"email.verification_sent", "email.verified"} <= set(audit_kinds(p))


def test_resending_voids_the_older_link_and_a_new_address_voids_both(
    mail_platform: Platform, smtp_server: SmtpServer
) -> None:
    p = mail_platform
    headers = p.user("bob")
    (first,) = verify_mails(smtp_server, "bob@example.com")
    r = p.client.post("/api/v1/auth/verify-email/send", headers=headers)
    assert r.status_code == 202 and r.json()["detail"], r.text
    _, second = verify_mails(smtp_server, "bob@example.com", 2)
    problem(p.client.post("/api/v1/auth/verify-email", json={"token": first}), 403, "EMAIL_TOKEN_INVALID")
    with p.services.db.session() as session:
        session.execute(sa.update(User).where(User.username == "bob").values(email="bob@elsewhere.example"))
    r = p.client.post("/api/v1/auth/verify-email", json={"token": second})
    assert "no longer" in problem(r, 403, "EMAIL_TOKEN_INVALID")["detail"]
    assert me(p, headers).json()["email_verified"] is False


def test_password_reset_signs_out_everywhere_and_works_once(
    mail_platform: Platform, smtp_server: SmtpServer
) -> None:
    p = mail_platform
    headers = p.user("cyd")
    known = p.client.post("/api/v1/auth/password-reset", json={"email": " CYD@Example.com"})
    unknown = p.client.post("/api/v1/auth/password-reset", json={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    (first,) = reset_mails(smtp_server, "cyd@example.com")
    with p.services.db.session() as session:
        subjects = list(session.scalars(sa.select(Job.subject).where(Job.kind == "email.send")))
    assert len(subjects) == 2 and all(s and s.startswith("user:") for s in subjects)  # nothing for nobody@

    # A common password is refused, and the link stays good for a better one.
    r = p.client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": first, "new_password": "Password123"}
    )
    assert "common" in problem(r, 422, "WEAK_PASSWORD")["detail"]
    # A new request voids the first link.
    assert p.client.post("/api/v1/auth/password-reset", json={"email": "cyd@example.com"}).status_code == 202
    _, second = reset_mails(smtp_server, "cyd@example.com", 2)
    new = {"new_password": "a brand new passphrase"}
    r = p.client.post("/api/v1/auth/password-reset/confirm", json={"token": first, **new})
    problem(r, 403, "EMAIL_TOKEN_INVALID")

    r = p.client.post("/api/v1/auth/password-reset/confirm", json={"token": second, **new})
    assert r.status_code == 204, r.text
    problem(me(p, headers), 401, "SESSION_REVOKED")
    r = p.client.post("/api/v1/auth/login", json={"username": "cyd", "password": PW})
    problem(r, 401, "INVALID_CREDENTIALS")
    r = p.client.post("/api/v1/auth/login", json={"username": "cyd", "password": new["new_password"]})
    assert r.status_code == 200
    # Following the mailed link proved the address too.
    assert me(p, {"Authorization": f"Bearer {r.json()['access_token']}"}).json()["email_verified"] is True
    r = p.client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": second, "new_password": "yet another phrase"}
    )
    problem(r, 403, "EMAIL_TOKEN_INVALID")
    kinds = audit_kinds(p)
    for kind in ("password_reset.requested", "password_reset.unknown_address", "password_reset.completed"):
        assert kind in kinds, kinds


def test_links_expire(
    tmp_path: Path, platform_factory: Callable[..., Platform], smtp_server: SmtpServer
) -> None:
    p = platform_factory(
        embedded(tmp_path, smtp_url=smtp_server.url, email_verification_ttl=600, password_reset_ttl=60)
    )
    p.user("dee")
    (verify,) = verify_mails(smtp_server, "dee@example.com")
    assert p.client.post("/api/v1/auth/password-reset", json={"email": "dee@example.com"}).status_code == 202
    (reset,) = reset_mails(smtp_server, "dee@example.com")
    assert "for 1 minute" in mails(smtp_server, "dee@example.com", "Reset your password")[0].get_content()
    with p.services.db.session() as session:
        rows = {row.purpose: row for row in session.scalars(sa.select(EmailToken))}
        lifetimes = {k: (row.expires_at - row.created_at).total_seconds() for k, row in rows.items()}
        assert lifetimes == pytest.approx({"verify": 600, "reset": 60}, abs=1)
        # Let both lifetimes pass.
        for row in rows.values():
            row.expires_at = utcnow() - timedelta(seconds=1)
    problem(p.client.post("/api/v1/auth/verify-email", json={"token": verify}), 403, "EMAIL_TOKEN_EXPIRED")
    r = p.client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": reset, "new_password": "fresh phrase here"}
    )
    problem(r, 403, "EMAIL_TOKEN_EXPIRED")


def test_wrong_and_garbage_tokens(platform: Platform, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="control_plane.core.mail")
    platform.user("eve")
    verify = token_of(logged_link(caplog, "/verify-email"))
    for token in ("short", "x" * 200, "not/url+safe/characters/at/all", "näin-ei-käy-lainkaan"):
        r = platform.client.post("/api/v1/auth/verify-email", json={"token": token})
        problem(r, 422, "VALIDATION_FAILED")
    unknown = secrets.token_urlsafe(32)
    problem(
        platform.client.post("/api/v1/auth/verify-email", json={"token": unknown}), 403, "EMAIL_TOKEN_INVALID"
    )
    # A verification token is no reset token.
    r = platform.client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": verify, "new_password": "a long new phrase"}
    )
    problem(r, 403, "EMAIL_TOKEN_INVALID")
    r = platform.client.post("/api/v1/auth/login", json={"username": "eve", "password": PW})
    assert r.status_code == 200


def test_the_embedded_default_writes_mail_to_the_log(
    platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="control_plane.core.mail")
    headers = platform.user("fay")
    logged = [r.getMessage() for r in caplog.records if r.name == "control_plane.core.mail.log"]
    assert len(logged) == 1 and logged[0].startswith("mail to fay@example.com: Confirm your email address")
    link = logged_link(caplog, "/verify-email")
    assert link.startswith(platform.services.settings.effective_public_url + "/verify-email?token=")
    assert (
        platform.client.post("/api/v1/auth/verify-email", json={"token": token_of(link)}).status_code == 204
    )
    assert me(platform, headers).json()["email_verified"] is True
    with platform.services.db.session() as session:
        assert not list(session.scalars(sa.select(Job).where(Job.kind == "email.send")))


def test_common_passwords_are_refused(platform: Platform) -> None:
    for password in ("Password123", "iloveyou1", "QWERTY123", "trustno1"):
        r = platform.client.post(
            "/api/v1/auth/register",
            json={"username": "gil", "email": "gil@example.com", "password": password},
        )
        assert "common" in problem(r, 422, "WEAK_PASSWORD")["detail"], password
    headers = platform.user("gil")
    r = platform.client.post(
        "/api/v1/users/me/password",
        headers=headers,
        json={"current_password": PW, "new_password": "Football1"},
    )
    problem(r, 422, "WEAK_PASSWORD")


def test_rate_limits(platform: Platform) -> None:
    headers = platform.user("hal")
    for _ in range(5):
        assert platform.client.post("/api/v1/auth/verify-email/send", headers=headers).status_code == 202
    r = platform.client.post("/api/v1/auth/verify-email/send", headers=headers)
    problem(r, 429, "RATE_LIMITED")
    assert 1 <= int(r.headers["retry-after"]) <= 3600
    for _ in range(5):
        r = platform.client.post("/api/v1/auth/password-reset", json={"email": "hal@example.com"})
        assert r.status_code == 202
    r = platform.client.post("/api/v1/auth/password-reset", json={"email": "HAL@example.com"})
    problem(r, 429, "RATE_LIMITED")
    assert int(r.headers["retry-after"]) >= 1
    # Other addresses from the same client are answered, until the client's own limit (20 an hour).
    answered = [
        platform.client.post("/api/v1/auth/password-reset", json={"email": f"x{i}@example.com"}).status_code
        for i in range(16)
    ]
    assert answered == [202] * 14 + [429] * 2


def test_a_failing_mail_server_is_retried(mail_platform: Platform, smtp_server: SmtpServer) -> None:
    smtp_server.fail_next = 1
    mail_platform.user("ivy")
    verify_mails(smtp_server, "ivy@example.com")
    assert smtp_server.refused == 1
    job = finished_mail_job(mail_platform)
    assert job.attempts == 2 and job.status == "succeeded"


def test_a_mail_the_server_refuses_for_good_is_not_retried(
    mail_platform: Platform, smtp_server: SmtpServer
) -> None:
    smtp_server.reject_next = 1
    mail_platform.user("ned")
    job = finished_mail_job(mail_platform)
    assert job.status == "failed" and job.attempts == 1 and "550" in (job.error or "")
    assert smtp_server.refused == 1 and not smtp_server.messages


def test_the_common_password_list_ships_with_the_package() -> None:
    common = common_passwords()
    assert len(common) == 30_000 and {"123456", "password", "iloveyou", "trustno1"} <= common
    assert all(p == p.lower() and p.strip() == p and not p.startswith("#") for p in common)
    PasswordPolicy().check("correct horse battery")
    for password in ("TrustNo1", "Sunshine1"):
        with pytest.raises(WeakPassword):
            PasswordPolicy().check(password)
    PasswordPolicy(refuse_common=False).check("TrustNo1")


def test_reset_is_answered_before_the_address_is_looked_up(
    mail_platform: Platform, smtp_server: SmtpServer
) -> None:
    """No timing tells whether an address is registered: with the database locked for writing, the
    answer still comes at once for a known and an unknown address; the mail follows the unlock."""
    mail_platform.user("tim")
    verify_mails(smtp_server, "tim@example.com")
    with live_server(mail_platform) as base:
        lock = sqlite3.connect(mail_platform.services.settings.data_dir / "socialflow.db", timeout=10)
        lock.execute("BEGIN IMMEDIATE")
        try:
            for email in ("tim@example.com", "nobody@nowhere.example"):
                started = time.perf_counter()
                r = httpx.post(f"{base}/api/v1/auth/password-reset", json={"email": email}, timeout=10)
                assert r.status_code == 202 and time.perf_counter() - started < 1.0, r.text
            time.sleep(0.3)
            assert not [m for m in smtp_server.messages if m["Subject"] == "Reset your password"]
        finally:
            lock.rollback()
            lock.close()
        reset_mails(smtp_server, "tim@example.com")


def test_production_backends(
    tmp_path: Path,
    postgres_url: str,
    redis_url: str,
    platform_factory: Callable[..., Platform],
    smtp_server: SmtpServer,
) -> None:
    """PostgreSQL, a Redis broker and Redis rate limits: the mail goes through Redis to SMTP."""
    own_db = redis_url.rsplit("/", 1)[0] + "/11"
    redis.Redis.from_url(own_db).flushdb()
    p = platform_factory(
        production(
            tmp_path,
            database_url=postgres_url,
            broker_url=own_db,
            redis_url=own_db,
            storage_url=f"file://{tmp_path / 'blobs'}",
            smtp_url=smtp_server.url,
            public_url=PUBLIC_URL,
        )
    )
    headers = p.user("joe")
    (verify,) = verify_mails(smtp_server, "joe@example.com")
    assert p.client.post("/api/v1/auth/verify-email", json={"token": verify}).status_code == 204
    problem(p.client.post("/api/v1/auth/verify-email", json={"token": verify}), 403, "EMAIL_TOKEN_INVALID")
    assert me(p, headers).json()["email_verified"] is True
    for _ in range(5):
        assert (
            p.client.post("/api/v1/auth/password-reset", json={"email": "joe@example.com"}).status_code == 202
        )
    problem(
        p.client.post("/api/v1/auth/password-reset", json={"email": "joe@example.com"}), 429, "RATE_LIMITED"
    )
    # Each request voided the link before it: of the five mailed, only the newest works.
    statuses = [
        p.client.post(
            "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": "new phrase 1"}
        ).status_code
        for token in reset_mails(smtp_server, "joe@example.com", 5)
    ]
    assert sorted(statuses) == [204, 403, 403, 403, 403], statuses
    problem(me(p, headers), 401, "SESSION_REVOKED")


def test_production_without_smtp_says_mail_is_not_configured(
    tmp_path: Path, platform_factory: Callable[..., Platform]
) -> None:
    settings = load_settings(
        data_dir=tmp_path / "data",
        storage_url=f"file://{tmp_path / 'blobs'}",
        secret_key=secrets.token_urlsafe(48),
    )
    assert not settings.embedded and settings.smtp_url is None
    p = platform_factory(settings)
    headers = p.user("kim")  # registration still works; no mail is sent
    problem(p.client.post("/api/v1/auth/verify-email/send", headers=headers), 503, "MAIL_NOT_CONFIGURED")
    r = p.client.post("/api/v1/auth/password-reset", json={"email": "kim@example.com"})
    problem(r, 503, "MAIL_NOT_CONFIGURED")
    with p.services.db.session() as session:
        assert not list(session.scalars(sa.select(EmailToken)))
