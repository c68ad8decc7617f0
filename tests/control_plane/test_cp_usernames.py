"""Usernames are one name whatever their case, on SQLite and PostgreSQL, and the migration that
made them so keeps the accounts that already differed only by case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from support.platform import Platform

from control_plane.accounts import AccountService, TokenCodec
from control_plane.accounts.errors import InvalidCredentials, UsernameTaken
from control_plane.accounts.models import User, username_key
from control_plane.accounts.passwords import hash_password
from control_plane.accounts.twofactor import TwoFactor
from control_plane.core import migrate
from control_plane.core.db import Database

PW = "correct horse battery"
SECRET = b"a test secret that is long enough to sign tokens"


def test_a_name_that_differs_only_by_case_is_taken_and_signs_in(platform: Platform) -> None:
    def register(name: str) -> dict:
        body = {"username": name, "email": f"{name}@example.com", "password": PW}
        r = platform.client.post("/api/v1/auth/register", json=body)
        return {"status": r.status_code, "code": r.json().get("code")}

    assert register("alice")["status"] == 201
    for other in ("ALICE", "Alice", "aLiCe"):
        assert register(other) == {"status": 409, "code": "USERNAME_TAKEN"}, other
    r = platform.client.post("/api/v1/auth/login", json={"username": "ALICE", "password": PW})
    assert r.status_code == 200
    token = r.json()["access_token"]
    me = platform.client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["username"] == "alice"


def test_the_key_is_the_nfkc_case_fold() -> None:
    assert username_key("Alice") == username_key("ALICE") == "alice"
    assert username_key("Ａｌｉｃｅ") == "alice"  # full-width letters, should names ever leave ASCII
    assert username_key("Straße") == username_key("STRASSE")


def _accounts(db: Database) -> AccountService:
    codec = TokenCodec(SECRET, issuer="http://test", ttl=60)
    return AccountService(db, codec, refresh_ttl=60, twofactor=TwoFactor(SECRET))


def test_the_database_refuses_a_second_spelling(database: Database) -> None:
    migrate.upgrade(database)
    accounts = _accounts(database)
    accounts.register("alice", "alice@example.com", PW)
    with pytest.raises(UsernameTaken):
        accounts.register("ALICE", "other@example.com", PW)
    # Two writers that both checked first: the unique key decides.
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(User(username="Alice", email="third@example.com", password_hash="x"))


_USERS = sa.table(
    "users",
    *(sa.column(c) for c in ("id", "username", "email", "password_hash", "role", "is_active", "created_at")),
)


def test_the_migration_keeps_case_duplicates_reachable(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    migrate.upgrade(database, "0009")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [  # (id, username, password, created) : ALICE came after alice
        ("a" * 32, "alice", "alice's passphrase", start),
        ("b" * 32, "ALICE", "ALICE's passphrase", start + timedelta(days=1)),
        ("c" * 32, "Bob", "bob's passphrase", start),
    ]
    with database.engine.begin() as conn:
        for user_id, name, password, created in rows:
            conn.execute(
                sa.insert(_USERS).values(
                    id=user_id,
                    username=name,
                    email=f"{user_id[0]}@example.com",
                    password_hash=hash_password(password),
                    role="creator",
                    is_active=True,
                    created_at=created,
                )
            )
    migrate.upgrade(database)
    assert "'ALICE' differs from the older 'alice' only by case" in caplog.text
    with database.engine.connect() as conn:
        keys = dict(conn.execute(sa.text("select username, username_key from users")).all())
    assert keys == {"alice": "alice", "ALICE": "#" + "b" * 32, "Bob": "bob"}
    accounts = _accounts(database)
    signed_in = {
        name: accounts.codec.verify(accounts.login(name, password).access_token).user_id
        for name, password in [("ALICE", "ALICE's passphrase"), ("Alice", "alice's passphrase")]
    }
    assert signed_in == {"ALICE": "b" * 32, "Alice": "a" * 32}
    assert accounts.codec.verify(accounts.login("BOB", "bob's passphrase").access_token).user_id == "c" * 32
    with pytest.raises(InvalidCredentials):
        accounts.login("alice", "ALICE's passphrase")
    with pytest.raises(UsernameTaken):
        accounts.register("aLiCe", "new@example.com", PW)
