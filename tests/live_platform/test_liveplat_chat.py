"""Live chat over WebSockets: fan-out to every viewer, posting needs an account, per-user rate
limits, deletions and bans by the streamer; Redis pub/sub carries it across API instances."""

from __future__ import annotations

import asyncio
import json

import pytest
from support.platform import Platform

from control_plane.core.pubsub import RedisPubSub


def stream_of(platform: Platform, owner: dict[str, str]) -> str:
    r = platform.client.post("/api/v1/live/streams", headers=owner, json={"title": "Chat test"})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def token(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def test_chat_fans_out_and_the_streamer_moderates(platform: Platform) -> None:
    owner, fan, troll = platform.user("streamer"), platform.user("fan"), platform.user("troll")
    stream = stream_of(platform, owner)
    url = f"/api/v1/live/streams/{stream}/chat"
    with (
        platform.client.websocket_connect(f"{url}?access_token={token(fan)}") as fan_ws,
        platform.client.websocket_connect(url) as reader,
        platform.client.websocket_connect(f"{url}?access_token={token(troll)}") as troll_ws,
        platform.client.websocket_connect(f"{url}?access_token={token(owner)}") as owner_ws,
    ):
        fan_ws.send_json({"type": "message", "text": "hello!"})
        for ws in (fan_ws, reader, troll_ws, owner_ws):
            event = ws.receive_json()
            assert event["type"] == "message" and event["text"] == "hello!" and event["username"] == "fan"
        message_id = event["id"]

        reader.send_json({"type": "message", "text": "anonymous"})
        assert reader.receive_json()["code"] == "CHAT_SIGN_IN"
        troll_ws.send_json({"type": "delete", "id": message_id})
        assert troll_ws.receive_json()["code"] == "CHAT_NOT_ALLOWED"
        troll_ws.send_json({"type": "message", "text": "x" * 501})
        assert troll_ws.receive_json()["code"] == "CHAT_BAD_MESSAGE"

        owner_ws.send_json({"type": "delete", "id": message_id})
        assert reader.receive_json() == {"type": "deleted", "id": message_id}
        troll_id = platform.client.get("/api/v1/users/me", headers=troll).json()["id"]
        owner_ws.send_json({"type": "ban", "user_id": troll_id})
        assert reader.receive_json() == {"type": "banned", "user_id": troll_id}
        troll_ws.receive_json()  # the deletion
        troll_ws.receive_json()  # the ban
        troll_ws.send_json({"type": "message", "text": "let me back"})
        assert troll_ws.receive_json()["code"] == "CHAT_BANNED"

        for n in range(4):  # with "hello!", five messages: the limit in ten seconds
            fan_ws.send_json({"type": "message", "text": f"spam {n}"})
        for n in range(4):
            assert reader.receive_json()["text"] == f"spam {n}"
        fan_ws.send_json({"type": "message", "text": "one too many"})
        seen = [fan_ws.receive_json() for _ in range(7)]  # the deletion, the ban, four messages, the refusal
        assert seen[-1]["type"] == "error" and seen[-1]["code"] == "RATE_LIMITED"


def test_unknown_stream_and_bad_token_are_refused(platform: Platform) -> None:
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect) as closed:
        with platform.client.websocket_connect("/api/v1/live/streams/" + "0" * 32 + "/chat") as ws:
            ws.receive_json()
    assert closed.value.code == 4404
    stream = stream_of(platform, platform.user("streamer"))
    with pytest.raises(WebSocketDisconnect) as closed:
        with platform.client.websocket_connect(
            f"/api/v1/live/streams/{stream}/chat?access_token=bogus"
        ) as ws:
            ws.receive_json()
    assert closed.value.code == 4401


def test_redis_pubsub_reaches_subscribers_of_another_instance(redis_url: str) -> None:
    publisher, subscriber = RedisPubSub(redis_url), RedisPubSub(redis_url)

    async def scenario() -> list[str]:
        ready = asyncio.Event()
        received: list[str] = []

        async def listen() -> None:
            async for message in subscriber.subscribe("chat:test-instance", ready):
                received.append(message)
                if len(received) == 2:
                    return

        task = asyncio.create_task(listen())
        await ready.wait()
        publisher.publish("chat:test-instance", json.dumps({"n": 1}))
        publisher.publish("chat:test-instance", json.dumps({"n": 2}))
        await asyncio.wait_for(task, timeout=10)
        return received

    assert [json.loads(m)["n"] for m in asyncio.run(scenario())] == [1, 2]
    publisher.close()
    subscriber.close()
