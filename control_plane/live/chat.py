"""Live chat: one channel per stream, fanned out through pub/sub to every API instance.

Signed-in viewers post (rate-limited per user); the streamer, or a moderator, deletes messages
and bans users from the stream's chat. Messages are not stored: a viewer sees what is said while
connected.
"""

from __future__ import annotations

import json
from typing import Any

from control_plane.accounts.models import User
from control_plane.core.db import new_id, utcnow
from control_plane.core.errors import BadRequest, Forbidden
from control_plane.core.kv import KeyValue
from control_plane.core.pubsub import PubSub
from control_plane.core.ratelimit import Limit, RateLimiter
from control_plane.live.service import StreamService

__all__ = ["ChatService", "CHAT_RATE", "MAX_MESSAGE_CHARS", "channel"]

CHAT_RATE = Limit("chat", 5, 10.0)  # messages per user per stream
MAX_MESSAGE_CHARS = 500
BAN_SECONDS = 30 * 24 * 3600


def channel(stream_id: str) -> str:
    return f"chat:{stream_id}"


class ChatBanned(Forbidden):
    code, title = "CHAT_BANNED", "Banned from this chat"


class ChatService:
    def __init__(self, streams: StreamService, pubsub: PubSub, kv: KeyValue, limiter: RateLimiter) -> None:
        self.streams, self.pubsub, self.kv, self.limiter = streams, pubsub, kv, limiter

    def _banned(self, stream_id: str, user_id: str) -> bool:
        return self.kv.get(f"chat-ban:{stream_id}:{user_id}") is not None

    def _publish(self, stream_id: str, event: dict[str, Any]) -> None:
        self.pubsub.publish(channel(stream_id), json.dumps(event))

    def handle(self, stream_id: str, user: User | None, moderator: bool, command: dict[str, Any]) -> None:
        """Apply one command from a chat client: ``message``, ``delete`` or ``ban``."""
        if user is None:
            raise Forbidden("Sign in to take part in the chat.", code="CHAT_SIGN_IN")
        kind = command.get("type")
        if kind == "message":
            self.post(stream_id, user, command.get("text"))
        elif kind in ("delete", "ban"):
            if self.streams.view(stream_id).owner_id != user.id and not moderator:
                raise Forbidden("Only the streamer or a moderator can do that.", code="CHAT_NOT_ALLOWED")
            if kind == "delete":
                self._publish(stream_id, {"type": "deleted", "id": str(command.get("id", ""))[:64]})
            else:
                target = str(command.get("user_id", ""))[:32]
                self.kv.set(f"chat-ban:{stream_id}:{target}", b"1", ttl=BAN_SECONDS)
                self._publish(stream_id, {"type": "banned", "user_id": target})
        else:
            raise BadRequest("A chat command is 'message', 'delete' or 'ban'.", code="CHAT_BAD_COMMAND")

    def post(self, stream_id: str, user: User, text: object) -> None:
        if not isinstance(text, str) or not text.strip():
            raise BadRequest("A message needs some text.", code="CHAT_BAD_MESSAGE")
        if len(text) > MAX_MESSAGE_CHARS:
            raise BadRequest(
                f"A message has at most {MAX_MESSAGE_CHARS} characters.", code="CHAT_BAD_MESSAGE"
            )
        if self._banned(stream_id, user.id):
            raise ChatBanned("You are banned from this chat.")
        self.limiter.hit(CHAT_RATE, f"{stream_id}:{user.id}")
        self._publish(
            stream_id,
            {
                "type": "message",
                "id": new_id(),
                "user_id": user.id,
                "username": user.username,
                "text": text.strip(),
                "at": utcnow().isoformat(),
            },
        )
