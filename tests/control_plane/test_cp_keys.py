"""Signing-key rotation (old tokens live out their time, nothing new is signed with the old key,
each activation is audited) and the per-user API budget."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import jwt
import pytest
import sqlalchemy as sa
from support.platform import Platform, embedded, start_platform

from control_plane.accounts import TokenCodec
from control_plane.accounts.models import AuditEvent
from control_plane.accounts.rotation import record_signing_key
from control_plane.core.settings import ConfigError, Settings, load_settings

OLD, NEW = secrets.token_urlsafe(48), secrets.token_urlsafe(48)


@contextmanager
def running(settings: Settings) -> Iterator[Platform]:
    gen = start_platform(settings, inprocess_workers=False)
    try:
        yield next(gen)
    finally:
        for _ in gen:
            pass


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(platform: Platform) -> dict[str, str]:
    r = platform.client.post(
        "/api/v1/auth/login", json={"username": "rota", "password": "correct horse battery"}
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_rotation_keeps_old_tokens_until_the_old_key_is_dropped(tmp_path: Path) -> None:
    with running(embedded(tmp_path, secret_key=OLD)) as first:
        first.user("rota")
        old = login(first)
    old_kid = jwt.get_unverified_header(old["access_token"])["kid"]

    with running(embedded(tmp_path, secret_key=NEW, previous_secret_keys=[OLD])) as second:
        assert second.client.get("/api/v1/users/me", headers=bearer(old["access_token"])).status_code == 200
        new = login(second)
        assert jwt.get_unverified_header(new["access_token"])["kid"] != old_kid  # signed with the new key
        refreshed = second.client.post("/api/v1/auth/refresh", json={"refresh_token": old["refresh_token"]})
        assert refreshed.status_code == 200
        assert jwt.get_unverified_header(refreshed.json()["access_token"])["kid"] != old_kid

    with running(embedded(tmp_path, secret_key=NEW)) as third:
        r = third.client.get("/api/v1/users/me", headers=bearer(old["access_token"]))
        assert r.status_code == 401 and r.json()["code"] == "TOKEN_INVALID"
        assert third.client.get("/api/v1/users/me", headers=bearer(new["access_token"])).status_code == 200


def test_each_new_signing_key_is_audited_once(platform: Platform) -> None:
    db = platform.services.db
    first = TokenCodec(OLD.encode(), issuer="x", ttl=60)
    second = TokenCodec(NEW.encode(), issuer="x", ttl=60, previous=(OLD.encode(),))
    assert record_signing_key(db, first) is True
    assert record_signing_key(db, first) is False  # a restart with the same key records nothing
    assert record_signing_key(db, second) is True
    with db.session() as session:
        events = session.scalars(
            sa.select(AuditEvent).where(AuditEvent.kind == "signing_key.activated").order_by(AuditEvent.id)
        ).all()
        details = [e.detail for e in events]
    assert [d["kid"] for d in details] == [first.kid, second.kid]
    assert details[1]["previous_kid"] == first.kid
    assert sorted(details[1]["verifying_kids"]) == sorted({first.kid, second.kid})
    assert all(OLD not in str(d) and NEW not in str(d) for d in details)


def test_previous_secrets_are_checked_like_the_secret(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="known default"):
        load_settings(
            data_dir=tmp_path,
            database_url="sqlite:///x.db",
            secret_key=NEW,
            previous_secret_keys=["changeme"],
        )


def test_the_api_budget_limits_each_user_separately(tmp_path: Path) -> None:
    with running(embedded(tmp_path, api_budget_per_minute=5)) as platform:
        alice, bob = platform.user("alice"), platform.user("bob")
        for _ in range(5):
            assert platform.client.get("/api/v1/users/me", headers=alice).status_code == 200
        r = platform.client.get("/api/v1/auth/sessions", headers=alice)
        assert r.status_code == 429 and r.json()["code"] == "RATE_LIMITED"
        assert 1 <= int(r.headers["retry-after"]) <= 60 and "5 requests a minute" in r.json()["detail"]
        assert platform.client.get("/api/v1/users/me", headers=bob).status_code == 200
        assert platform.client.get("/healthz").status_code == 200  # anonymous routes are not counted
