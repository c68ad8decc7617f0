"""Real time: one subscription per API process to the notifications channel, handed out to the
WebSockets of this process by recipient.

Every new notification is published once, on one channel (Redis pub/sub in production, so every
API process hears it; in-process on the embedded default). Each process listens on its own
thread and event loop, whatever serves its sockets, and puts each message on the queues of the
sockets of its recipient here, so a thousand sockets cost a thousand small queues, not a thousand
Redis connections. A client that cannot keep up loses the oldest messages it had not taken
(``QUEUE_LIMIT``); it reads the inbox again on its next reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections import defaultdict

from control_plane.core.pubsub import PubSub

__all__ = ["Dispatcher", "Subscription"]

log = logging.getLogger(__name__)

QUEUE_LIMIT = 256
#: Seconds between tries to subscribe again after the pub/sub connection broke.
RETRY_S = 1.0


#: How every message the notifications domain publishes starts (``json.dumps`` keeps key order).
_PREFIX = '{"user":"'


def recipient(message: str) -> str | None:
    """The ``user`` a message is for: read from its head without decoding the rest (this runs for
    every message in every API process, most of them for sockets elsewhere); any other form is
    decoded whole."""
    if message.startswith(_PREFIX):
        end = message.find('"', len(_PREFIX))
        user_id = message[len(_PREFIX) : end]
        if end > 0 and "\\" not in user_id:
            return user_id
    try:
        user_id = json.loads(message)["user"]
    except (ValueError, KeyError, TypeError):
        return None
    return user_id if isinstance(user_id, str) else None


class Subscription:
    """One socket's messages (JSON text), on the event loop that registered it."""

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_LIMIT)

    def offer(self, message: str) -> None:
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(message)

    async def get(self) -> str:
        return await self.queue.get()


class Dispatcher:
    """Started with the first socket; ``close`` stops it."""

    def __init__(self, pubsub: PubSub, channel: str) -> None:
        self.pubsub = pubsub
        self.channel = channel
        self._subs: dict[str, set[Subscription]] = defaultdict(set)
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def connections(self) -> int:
        with self._lock:
            return sum(len(s) for s in self._subs.values())

    async def register(self, user_id: str) -> Subscription:
        """A subscription for ``user_id``'s messages from now on (the channel is listened to
        before this returns, so nothing published after it is missed)."""
        sub = Subscription(user_id)
        with self._lock:
            self._subs[user_id].add(sub)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="notifications-dispatch", daemon=True)
                self._thread.start()
        if not self._ready.is_set():
            await asyncio.to_thread(self._ready.wait, 10)
        return sub

    def unregister(self, sub: Subscription) -> None:
        with self._lock:
            subs = self._subs.get(sub.user_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[sub.user_id]

    def close(self) -> None:
        loop, task = self._loop, self._task
        if loop is not None and task is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(task.cancel)
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- the listening thread -------------------------------------------------------------------

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._task = loop.create_task(self._listen())
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(self._task)
        finally:
            loop.close()

    async def _listen(self) -> None:
        ready = asyncio.Event()
        while True:
            try:
                waiter = asyncio.ensure_future(ready.wait())
                waiter.add_done_callback(lambda _: self._ready.set())
                async for message in self.pubsub.subscribe(self.channel, ready):
                    self._hand_out(message)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis went away: subscribe again; clients catch up on reconnect
                log.warning("notifications subscription broke; subscribing again", exc_info=True)
                await asyncio.sleep(RETRY_S)

    def _hand_out(self, message: str) -> None:
        user_id = recipient(message)
        if user_id is None:
            log.warning("a notification message without a recipient was dropped")
            return
        with self._lock:
            subs = list(self._subs.get(user_id, ()))
        for sub in subs:
            with contextlib.suppress(RuntimeError):  # its loop closed: the socket is gone
                sub.loop.call_soon_threadsafe(sub.offer, message)
