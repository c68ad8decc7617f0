"""Publish/subscribe across API processes: Redis pub/sub in production, in-process otherwise.

Messages are text. ``publish`` may be called from any thread; ``subscribe`` is an async iterator
for the event loop that serves the subscriber.
"""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence

__all__ = ["PubSub", "MemoryPubSub", "RedisPubSub", "open_pubsub"]

QUEUE_LIMIT = 256  # messages a slow subscriber may fall behind before it loses the oldest


class PubSub(ABC):
    @abstractmethod
    def publish(self, channel: str, message: str) -> None: ...

    def publish_many(self, channel: str, messages: Sequence[str]) -> None:
        """Publish each of ``messages`` in order (one round trip where the backend can)."""
        for message in messages:
            self.publish(channel, message)

    @abstractmethod
    def subscribe(self, channel: str, ready: asyncio.Event | None = None) -> AsyncIterator[str]:
        """Messages published on ``channel`` from now on; ``ready`` is set once subscribed."""

    def close(self) -> None:
        return None


class MemoryPubSub(PubSub):
    """Fan-out to subscribers of this process (each on its own event loop)."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[str]]]] = defaultdict(
            set
        )
        self._lock = threading.Lock()

    def publish(self, channel: str, message: str) -> None:
        with self._lock:
            targets = list(self._subscribers.get(channel, ()))
        for loop, queue in targets:
            loop.call_soon_threadsafe(_offer, queue, message)

    async def subscribe(self, channel: str, ready: asyncio.Event | None = None) -> AsyncIterator[str]:
        queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_LIMIT)
        entry = (asyncio.get_running_loop(), queue)
        with self._lock:
            self._subscribers[channel].add(entry)
        if ready is not None:
            ready.set()
        try:
            while True:
                yield await queue.get()
        finally:
            with self._lock:
                self._subscribers[channel].discard(entry)


def _offer(queue: asyncio.Queue[str], message: str) -> None:
    if queue.full():
        queue.get_nowait()  # a subscriber that cannot keep up loses the oldest message, not the server
    queue.put_nowait(message)


class RedisPubSub(PubSub):
    """Redis PUBLISH/SUBSCRIBE, so every API instance's subscribers get every message."""

    def __init__(self, url: str) -> None:
        import redis

        self.url = url
        self._redis = redis.Redis.from_url(url, socket_connect_timeout=3)

    def publish(self, channel: str, message: str) -> None:
        self._redis.publish(channel, message)

    def publish_many(self, channel: str, messages: Sequence[str]) -> None:
        if len(messages) == 1:
            self._redis.publish(channel, messages[0])
            return
        pipe = self._redis.pipeline(transaction=False)
        for message in messages:
            pipe.publish(channel, message)
        pipe.execute()

    async def subscribe(self, channel: str, ready: asyncio.Event | None = None) -> AsyncIterator[str]:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(self.url)
        pubsub = client.pubsub()
        await pubsub.subscribe(channel)
        if ready is not None:
            ready.set()
        try:
            async for item in pubsub.listen():
                if item.get("type") == "message":
                    data = item["data"]
                    yield data.decode() if isinstance(data, bytes) else str(data)
        finally:
            await pubsub.unsubscribe(channel)
            await pubsub.aclose()
            await client.aclose()

    def close(self) -> None:
        self._redis.close()


def open_pubsub(url: str | None) -> PubSub:
    return RedisPubSub(url) if url else MemoryPubSub()
