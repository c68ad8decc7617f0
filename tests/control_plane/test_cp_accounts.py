"""Accounts over HTTP on the embedded default: register, login, refresh rotation, logout, roles."""

from __future__ import annotations

import threading

import jwt
from support.platform import Platform

PW = "correct horse battery"


def register(p: Platform, username: str, email: str | None = None, password: str = PW):
    return p.client.post(
        "/api/v1/auth/register",
        json={"username": username, "email": email or f"{username}@example.com", "password": password},
    )


def login(p: Platform, username: str, password: str = PW):
    return p.client.post("/api/v1/auth/login", json={"username": username, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(r, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == code and body["status"] == status
    assert body["title"] and body["detail"] and body["type"].endswith(code.lower().replace("_", "-"))


def test_register_login_me(platform: Platform) -> None:
    r = register(platform, "alice")
    assert r.status_code == 201 and r.json()["username"] == "alice" and len(r.json()["id"]) == 32
    r = login(platform, "alice")
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 900
    me = platform.client.get("/api/v1/users/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["username"] == "alice" and me.json()["email"] == "alice@example.com"
    stored = platform.services.db.engine.connect().exec_driver_sql("select password_hash from users").scalar()
    assert str(stored).startswith("$argon2id$") and PW not in str(stored)


def test_register_refuses_duplicates_and_bad_input(platform: Platform) -> None:
    assert register(platform, "bob").status_code == 201
    assert_problem(register(platform, "bob", "other@example.com"), 409, "USERNAME_TAKEN")
    assert_problem(register(platform, "bob2", "bob@example.com"), 409, "EMAIL_TAKEN")
    assert_problem(register(platform, "x"), 400, "INVALID_USERNAME")
    assert_problem(register(platform, "carol", "not-an-email"), 400, "INVALID_EMAIL")
    assert_problem(register(platform, "dave", password="short"), 422, "WEAK_PASSWORD")
    assert_problem(register(platform, "erin", password="erin"), 422, "WEAK_PASSWORD")
    r = platform.client.post("/api/v1/auth/register", json={"username": "frank"})
    assert_problem(r, 422, "VALIDATION_FAILED")


def test_login_failures_say_the_same_thing(platform: Platform) -> None:
    register(platform, "gina")
    wrong_password = login(platform, "gina", "not the password")
    unknown_user = login(platform, "nobody", "not the password")
    assert_problem(wrong_password, 401, "INVALID_CREDENTIALS")
    assert_problem(unknown_user, 401, "INVALID_CREDENTIALS")
    assert wrong_password.json()["detail"] == unknown_user.json()["detail"]


def test_me_needs_a_valid_token(platform: Platform) -> None:
    assert_problem(platform.client.get("/api/v1/users/me"), 401, "UNAUTHORIZED")
    assert_problem(
        platform.client.get("/api/v1/users/me", headers={"Authorization": "Basic abc"}), 401, "TOKEN_INVALID"
    )
    assert_problem(platform.client.get("/api/v1/users/me", headers=bearer("garbage")), 401, "TOKEN_INVALID")
    register(platform, "hank")
    token = login(platform, "hank").json()["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    forged_none = jwt.encode(claims, key=None, algorithm="none")
    assert_problem(platform.client.get("/api/v1/users/me", headers=bearer(forged_none)), 401, "TOKEN_INVALID")
    forged_key = jwt.encode(
        claims,
        "guessed-secret-guessed-secret-guessed",
        algorithm="HS256",
        headers={"kid": jwt.get_unverified_header(token)["kid"]},
    )
    assert_problem(platform.client.get("/api/v1/users/me", headers=bearer(forged_key)), 401, "TOKEN_INVALID")
    head, payload, sig = token.split(".")
    tampered = f"{head}.{payload[:-2]}AA.{sig}"
    assert platform.client.get("/api/v1/users/me", headers=bearer(tampered)).status_code == 401


def test_refresh_rotates_and_reuse_revokes_the_family(platform: Platform) -> None:
    register(platform, "ivy")
    first = login(platform, "ivy").json()
    second = platform.client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second_body = second.json()
    assert second_body["refresh_token"] != first["refresh_token"]
    assert (
        platform.client.get("/api/v1/users/me", headers=bearer(second_body["access_token"])).status_code
        == 200
    )
    reuse = platform.client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert_problem(reuse, 401, "TOKEN_REUSED")
    # The whole family is gone: the newest refresh token and its access token stop working.
    assert_problem(
        platform.client.post("/api/v1/auth/refresh", json={"refresh_token": second_body["refresh_token"]}),
        401,
        "SESSION_REVOKED",
    )
    assert_problem(
        platform.client.get("/api/v1/users/me", headers=bearer(second_body["access_token"])),
        401,
        "SESSION_REVOKED",
    )
    # Another sign-in of the same user is unaffected.
    other = login(platform, "ivy").json()
    assert platform.client.get("/api/v1/users/me", headers=bearer(other["access_token"])).status_code == 200


def test_concurrent_refreshes_let_one_win(platform: Platform) -> None:
    register(platform, "jack")
    token = login(platform, "jack").json()["refresh_token"]
    statuses: list[int] = []

    def refresh() -> None:
        statuses.append(
            platform.client.post("/api/v1/auth/refresh", json={"refresh_token": token}).status_code
        )

    threads = [threading.Thread(target=refresh) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses.count(200) <= 1 and all(s in (200, 401) for s in statuses)


def test_logout_ends_access_and_refresh_at_once(platform: Platform) -> None:
    register(platform, "kim")
    pair = login(platform, "kim").json()
    assert (
        platform.client.post("/api/v1/auth/logout", headers=bearer(pair["access_token"])).status_code == 204
    )
    assert_problem(
        platform.client.get("/api/v1/users/me", headers=bearer(pair["access_token"])), 401, "SESSION_REVOKED"
    )
    assert_problem(
        platform.client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}),
        401,
        "SESSION_REVOKED",
    )
    assert_problem(
        platform.client.post("/api/v1/auth/refresh", json={"refresh_token": "rt_unknown"}),
        401,
        "TOKEN_INVALID",
    )


def test_request_ids_and_body_limit(platform: Platform) -> None:
    r = platform.client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    assert len(platform.client.get("/healthz").headers["x-request-id"]) == 32
    huge = "x" * (platform.services.settings.max_request_body + 1)
    r = platform.client.post("/api/v1/auth/login", content=huge, headers={"content-type": "application/json"})
    assert_problem(r, 413, "PAYLOAD_TOO_LARGE")


def test_sessions_list_end_one_and_sign_out_everywhere(platform: Platform) -> None:
    register(platform, "lena")
    first = login(platform, "lena").json()
    second = platform.client.post(
        "/api/v1/auth/login", json={"username": "lena", "password": PW}, headers={"User-Agent": "phone"}
    ).json()
    listed = platform.client.get("/api/v1/auth/sessions", headers=bearer(first["access_token"])).json()
    assert len(listed) == 2 and sum(s["current"] for s in listed) == 1
    phone = next(s for s in listed if s["user_agent"] == "phone")
    mallory = login(platform, register(platform, "mallory") and "mallory").json()
    r = platform.client.delete(
        f"/api/v1/auth/sessions/{phone['id']}", headers=bearer(mallory["access_token"])
    )
    assert_problem(r, 404, "SESSION_NOT_FOUND")
    r = platform.client.delete(f"/api/v1/auth/sessions/{phone['id']}", headers=bearer(first["access_token"]))
    assert r.status_code == 204
    assert_problem(
        platform.client.get("/api/v1/users/me", headers=bearer(second["access_token"])),
        401,
        "SESSION_REVOKED",
    )
    third = login(platform, "lena").json()
    assert (
        platform.client.post("/api/v1/auth/logout-all", headers=bearer(third["access_token"])).status_code
        == 204
    )
    for pair in (first, third):
        assert (
            platform.client.get("/api/v1/users/me", headers=bearer(pair["access_token"])).status_code == 401
        )
    assert platform.client.get("/api/v1/users/me", headers=bearer(mallory["access_token"])).status_code == 200


def test_security_events_are_audited(platform: Platform) -> None:
    register(platform, "nick")
    login(platform, "nick", "wrong password!")
    login(platform, "ghost", "wrong password!")
    pair = login(platform, "nick").json()
    platform.client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    platform.client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    admin = platform.user("auditor", role="admin")
    events = platform.client.get("/api/v1/admin/audit", headers=admin).json()
    kinds = [e["kind"] for e in reversed(events)]
    for kind in ("register", "login.failed", "login.succeeded", "token.reuse", "role.changed"):
        assert kind in kinds, kinds
    failed = [e for e in events if e["kind"] == "login.failed"]
    assert {e["detail"].get("reason") for e in failed} == {"unknown user", "wrong password or inactive"}
    assert all(e["ip"] == "testclient" for e in failed)
    creator = platform.user("curious")
    assert_problem(platform.client.get("/api/v1/admin/audit", headers=creator), 403, "ROLE_REQUIRED")
