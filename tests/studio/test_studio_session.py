"""The browser session the studio keeps: the refresh token only in an HttpOnly, SameSite=Strict
cookie on /api/v1/auth, a cookie refresh only with X-Requested-With, rotated on each use,
its reuse ending the session, and sign-out clearing it."""

from __future__ import annotations

from support.platform import Platform

API = "/api/v1"
USER = {"username": "studio_user", "email": "studio_user@example.com", "password": "a long studio passphrase"}


def test_the_refresh_token_lives_only_in_an_httponly_cookie(platform: Platform) -> None:
    client = platform.client
    assert client.post(f"{API}/auth/register", json=USER).status_code == 201
    login = client.post(
        f"{API}/auth/login",
        json={"username": USER["username"], "password": USER["password"], "refresh_cookie": True},
    )
    assert login.status_code == 200 and login.json()["refresh_token"] == ""
    cookie = login.headers["set-cookie"]
    for part in ("sf_refresh=", "HttpOnly", "Path=/api/v1/auth", "SameSite=strict"):
        assert part.lower() in cookie.lower(), cookie
    first = client.cookies.get("sf_refresh")
    assert first

    # Without the header a cookie alone refreshes nothing (another site's form cannot add it).
    refused = client.post(f"{API}/auth/refresh", json={})
    assert refused.status_code == 401 and refused.json()["code"] == "TOKEN_INVALID"

    fresh = client.post(f"{API}/auth/refresh", json={}, headers={"X-Requested-With": "studio"})
    assert fresh.status_code == 200 and fresh.json()["refresh_token"] == ""
    second = client.cookies.get("sf_refresh")
    assert second and second != first
    me = client.get(f"{API}/users/me", headers={"Authorization": f"Bearer {fresh.json()['access_token']}"})
    assert me.json()["username"] == USER["username"]

    # The spent cookie presented again ends the whole session, as a spent body token does.
    client.cookies.clear()
    client.cookies.set("sf_refresh", first)
    reused = client.post(f"{API}/auth/refresh", json={}, headers={"X-Requested-With": "studio"})
    assert reused.status_code == 401 and reused.json()["code"] == "TOKEN_REUSED"
    client.cookies.clear()
    client.cookies.set("sf_refresh", second)
    assert (
        client.post(f"{API}/auth/refresh", json={}, headers={"X-Requested-With": "studio"}).status_code == 401
    )


def test_sign_out_clears_the_cookie_and_body_tokens_work_as_before(platform: Platform) -> None:
    client = platform.client
    client.post(f"{API}/auth/register", json=USER)
    plain = client.post(
        f"{API}/auth/login", json={"username": USER["username"], "password": USER["password"]}
    )
    assert plain.json()["refresh_token"] and "set-cookie" not in plain.headers
    login = client.post(
        f"{API}/auth/login",
        json={"username": USER["username"], "password": USER["password"], "refresh_cookie": True},
    )
    token = login.json()["access_token"]
    out = client.post(f"{API}/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert out.status_code == 204
    assert 'sf_refresh=""' in out.headers["set-cookie"] or "max-age=0" in out.headers["set-cookie"].lower()
    assert client.cookies.get("sf_refresh") is None
    nothing = client.post(f"{API}/auth/refresh", json={}, headers={"X-Requested-With": "studio"})
    assert nothing.status_code == 401
