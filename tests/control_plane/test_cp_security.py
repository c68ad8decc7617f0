"""Rate limits, client addresses behind proxies, security headers and CORS."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.requests import Request
from support.platform import Platform, embedded, start_platform

from control_plane.accounts.routes import accounts
from control_plane.core.kv import MemoryKeyValue
from control_plane.core.ratelimit import Limit, RateLimiter
from control_plane.http.clientip import client_ip


def test_login_is_rate_limited_per_account(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts, "LOGIN_PER_ACCOUNT", Limit("login_account", 3, 600.0))
    platform.user("target")
    statuses = [
        platform.client.post(
            "/api/v1/auth/login", json={"username": "target", "password": "wrong pass"}
        ).status_code
        for _ in range(4)
    ]
    assert statuses == [401, 401, 429, 429]  # the user() sign-in counted as the first
    r = platform.client.post("/api/v1/auth/login", json={"username": "target", "password": "wrong pass"})
    assert r.json()["code"] == "RATE_LIMITED" and int(r.headers["retry-after"]) >= 1
    # Another account from the same address is not affected.
    platform.user("bystander")


def test_sliding_window_forgets_old_events() -> None:
    limiter = RateLimiter(MemoryKeyValue())
    now = [1000.0]
    limiter._now = lambda: now[0]
    limit = Limit("x", 2, 10.0)
    limiter.hit(limit, "a")
    limiter.hit(limit, "a")
    with pytest.raises(Exception, match="Too many"):
        limiter.hit(limit, "a")
    now[0] += 25  # two windows later nothing remains
    limiter.hit(limit, "a")


def _request(peer: str, forwarded: str | None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return Request({"type": "http", "client": (peer, 1234), "headers": headers})


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("203.0.113.9", "1.2.3.4", [], "203.0.113.9"),  # no trusted proxy: the header is ignored
        ("10.0.0.2", "1.2.3.4", ["10.0.0.0/8"], "1.2.3.4"),
        ("10.0.0.2", "6.6.6.6, 1.2.3.4, 10.0.0.7", ["10.0.0.0/8"], "1.2.3.4"),  # spoofed left part ignored
        ("198.51.100.1", "1.2.3.4", ["10.0.0.0/8"], "198.51.100.1"),  # an untrusted peer's header is ignored
    ],
)
def test_client_ip_behind_proxies(peer: str, forwarded: str, trusted: list[str], expected: str) -> None:
    assert client_ip(_request(peer, forwarded), trusted) == expected


def test_security_headers(platform: Platform) -> None:
    r = platform.client.get("/healthz")
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert "strict-transport-security" not in r.headers  # plain-HTTP public URL
    assert "script-src 'self'" in platform.client.get("/docs").headers["content-security-policy"]


def test_cors_only_for_configured_origins(tmp_path: Path) -> None:
    gen = start_platform(
        embedded(tmp_path, cors_origins=["https://studio.example.com"], public_url="https://api.example.com")
    )
    platform = next(gen)
    try:
        ok = platform.client.options(
            "/api/v1/uploads/",
            headers={
                "Origin": "https://studio.example.com",
                "Access-Control-Request-Method": "PATCH",
                "Access-Control-Request-Headers": "Upload-Offset, Tus-Resumable",
            },
        )
        assert ok.headers["access-control-allow-origin"] == "https://studio.example.com"
        other = platform.client.options(
            "/api/v1/uploads/",
            headers={"Origin": "https://evil.example.net", "Access-Control-Request-Method": "PATCH"},
        )
        assert "access-control-allow-origin" not in other.headers
        assert platform.client.get("/healthz").headers["strict-transport-security"].startswith("max-age=")
    finally:
        for _ in gen:
            pass
