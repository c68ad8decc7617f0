"""The notifications WebSocket with a real client (``websockets``) over real HTTP: the unread count
first, each new notification as it is made, what a reconnecting client missed, a read on another
device, a token refused; and across two API processes' worth of services sharing PostgreSQL and
Redis (the socket on one, the event on the other)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from support.notify import API, drain, inbox, notifying_platform
from support.platform import Platform, live_server
from support.social import Member, backend_settings, member
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

#: Seconds a receive may wait before the test fails (a hang guard, not a latency check).
WAIT = 20


@pytest.fixture(params=["sqlite", "postgres"])
def plat(
    request: pytest.FixtureRequest, tmp_path: Path, platform_factory: Callable[..., Platform]
) -> Platform:
    return notifying_platform(request.param, request, tmp_path, platform_factory)


@contextmanager
def socket(base: str, who: Member, **params: Any) -> Iterator[ClientConnection]:
    token = who.headers["Authorization"].split()[1]
    query = "&".join(f"{k}={v}" for k, v in {"access_token": token, **params}.items())
    with connect(f"{base.replace('http', 'ws', 1)}{API}/notifications/stream?{query}") as ws:
        yield ws


def receive(ws: ClientConnection) -> dict[str, Any]:
    return dict(json.loads(ws.recv(timeout=WAIT)))


def mention(p: Platform, author: Member, text: str = "hi @ada") -> str:
    r = p.client.post(f"{API}/posts", json={"text": text}, headers=author.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_each_new_notification_arrives_with_the_unread_count(plat: Platform) -> None:
    ada, bob = member(plat, "ada"), member(plat, "bob")
    with live_server(plat) as base, socket(base, ada) as ws:
        assert receive(ws) == {"event": "unread", "unread": 0}
        post = mention(plat, bob)
        got = receive(ws)
        assert got["event"] == "notification" and got["unread"] == 1 and got["replaces"] is None
        assert got["notification"]["type"] == "mention" and got["notification"]["subject"]["id"] == post
        assert "user" not in got
        plat.client.put(f"{API}/posts/{post}/like", headers=ada.headers)  # her own like: nothing
        first_like = member(plat, "cyd")
        mine = plat.client.post(f"{API}/posts", json={"text": "mine"}, headers=ada.headers).json()["id"]
        plat.client.put(f"{API}/posts/{mine}/like", headers=first_like.headers)
        like = receive(ws)["notification"]
        plat.client.put(f"{API}/posts/{mine}/like", headers=bob.headers)
        regrouped = receive(ws)
        assert regrouped["replaces"] == like["id"] and regrouped["notification"]["count"] == 2
        plat.client.post(
            f"{API}/notifications/read", json={"up_to": regrouped["notification"]["id"]}, headers=ada.headers
        )
        assert receive(ws) == {"event": "unread", "unread": 0}


def test_a_reconnecting_client_catches_up_from_the_last_id_it_saw(plat: Platform) -> None:
    ada, bob = member(plat, "ada"), member(plat, "bob")
    with live_server(plat) as base:
        with socket(base, ada) as ws:
            receive(ws)
            mention(plat, bob, "one @ada")
            last_seen = receive(ws)["notification"]["id"]
        for text in ("two @ada", "three @ada"):
            mention(plat, bob, text)
        drain(plat)
        with socket(base, ada, after=last_seen) as ws:
            assert receive(ws) == {"event": "unread", "unread": 3}
            missed = [receive(ws)["notification"] for _ in range(2)]
            assert [m["id"] for m in missed] == sorted(m["id"] for m in missed) and missed[0][
                "id"
            ] > last_seen
            mention(plat, bob, "four @ada")
            live = receive(ws)["notification"]
            assert live["id"] > missed[-1]["id"]
        assert [i["id"] for i in inbox(plat, ada.headers)][:3] == [
            live["id"],
            missed[1]["id"],
            missed[0]["id"],
        ]


def test_a_token_that_is_not_valid_is_refused(plat: Platform) -> None:
    """The socket is closed before it is accepted (4401), which a server answers as a 403 to the
    handshake."""
    ada = member(plat, "ada")
    with live_server(plat) as base:
        plat.client.post(f"{API}/auth/logout", headers=ada.headers)
        for params in ("", "?access_token=not-a-token", f"?access_token={ada.headers['Authorization'][7:]}"):
            with pytest.raises(InvalidStatus) as refused:
                connect(f"{base.replace('http', 'ws', 1)}{API}/notifications/stream{params}")
            assert refused.value.response.status_code == 403
    r = plat.client.get(f"{API}/notifications/stream")
    assert r.status_code == 426 and r.json()["code"] == "WEBSOCKET_REQUIRED"


def test_across_api_processes_through_redis(
    request: pytest.FixtureRequest, tmp_path: Path, platform_factory: Callable[..., Platform]
) -> None:
    """Two sets of services on one PostgreSQL and one Redis: the event and its job in one, the
    socket in the other, which hears it only through Redis pub/sub."""
    settings = backend_settings("postgres", tmp_path, request)
    producer = platform_factory(settings)
    other = backend_settings("postgres", tmp_path / "other", request)
    other.database_url, other.secret_key = settings.database_url, settings.secret_key
    listener = platform_factory(other, inprocess_workers=False)
    assert listener.services.pubsub is not producer.services.pubsub
    ada, bob = member(producer, "ada"), member(producer, "bob")
    with live_server(listener) as base, socket(base, ada) as ws:
        assert receive(ws)["unread"] == 0
        mention(producer, bob)
        got = receive(ws)
        assert got["notification"]["actor"]["username"] == "bob" and got["unread"] == 1


def test_the_token_in_a_socket_url_never_reaches_the_log() -> None:
    import logging

    from control_plane.core.logs import RedactTokens

    line = '%s - "WebSocket /api/v1/notifications/stream?access_token=%s&after=3" [accepted]'
    record = logging.makeLogRecord({"msg": line, "args": ("127.0.0.1:5", "eyJ.secret.sig")})
    RedactTokens().filter(record)
    assert record.getMessage().endswith('stream?access_token=[redacted]&after=3" [accepted]')
    assert "secret" not in record.getMessage()


def test_the_recipient_is_read_from_the_head_of_a_message_and_anything_else_decoded() -> None:
    import json

    from control_plane.notifications.stream import recipient

    message = json.dumps({"user": "ab12", "event": "unread", "unread": 1}, separators=(",", ":"))
    assert recipient(message) == "ab12"
    assert recipient(json.dumps({"event": "unread", "user": "cd34"})) == "cd34"
    assert recipient('{"user":"a\\"b","event":"x"}') == 'a"b'
    for other in ('{"event":"x"}', "not json", '{"user":3}'):
        assert recipient(other) is None
