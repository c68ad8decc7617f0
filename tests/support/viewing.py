"""Helpers of the views and analytics tests: players at known addresses, a clock the test moves,
and heartbeats as a player sends them."""

from __future__ import annotations

from fastapi.testclient import TestClient

from support.platform import Platform

API = "/api/v1"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
GB, DE = "81.2.69.160", "5.9.0.1"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def player(platform: Platform, address: str) -> TestClient:
    """A client whose requests come from ``address`` (the geo database knows it)."""
    return TestClient(platform.client.app, client=(address, 50000))


def beat(client: TestClient, video: str, session: str, position: float, watched: float, **kw):  # type: ignore[no-untyped-def]
    headers = {"User-Agent": kw.pop("ua", DESKTOP), **kw.pop("headers", {})}
    return client.post(
        f"{API}/videos/{video}/views",
        json={"session": session, "position": position, "watched_seconds": watched},
        headers=headers,
    )


def play(platform: Platform, clock: Clock, client: TestClient, video: str, session: str, seconds: int, **kw):  # type: ignore[no-untyped-def]
    """Heartbeats every 5 s for ``seconds`` of playing; returns the last answer's body."""
    body = {}
    for t in range(0, seconds + 1, 5):
        r = beat(client, video, session, float(t), float(t), **kw)
        assert r.status_code == 200, r.text
        body = r.json()
        clock.now += 5
    return body
