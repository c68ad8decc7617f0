"""Timelines in Redis: one sorted set per reader, ``feed:home:<user id>``, members and scores
both small integers, so that with ``zset-max-listpack-entries`` above the timeline length Redis
keeps each set as a listpack of about 13 bytes an entry (about 105 in the default skiplist).

Every set holds a sentinel, member 0, so that a timeline with no entries still exists (and is
not rebuilt on every read); reads and trims step over it. Its score says whether older shares
than the oldest entry exist in the database: 0 when not, -1 once the timeline was trimmed or
built from a full page of the database. Writes that must not create a
timeline (a push, a merge) run as Lua scripts that first check it exists, so a reader whose
timeline expired gets a whole one rebuilt from the database, never a partial one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import redis

from control_plane.feed.stores.base import Entry, Slice, TimelineStore

__all__ = ["RedisTimelines"]

log = logging.getLogger(__name__)

#: Trim to ARGV[1] entries past the sentinel (rank 0), marking it when anything goes.
_TRIM = """
local extra = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[1]) - 1
if extra > 0 then
  redis.call('ZREMRANGEBYRANK', KEYS[1], 1, extra)
  redis.call('ZADD', KEYS[1], 'XX', -1, 0)
end
"""
#: ARGV: length, then score, member pairs. Adds to an existing timeline only.
_MERGE = (
    """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if #ARGV > 1 then redis.call('ZADD', KEYS[1], 'GT', unpack(ARGV, 2)) end
"""
    + _TRIM
    + "return 1"
)
#: ARGV: length, ttl in ms, the sentinel's score, then score, member pairs. Replaces the timeline.
_FILL = (
    """
redis.call('DEL', KEYS[1])
redis.call('ZADD', KEYS[1], ARGV[3], 0)
if #ARGV > 3 then redis.call('ZADD', KEYS[1], 'GT', unpack(ARGV, 4)) end
"""
    + _TRIM
    + """
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""
)
#: ARGV: length, score, member. Adds the entry to every timeline of KEYS that exists; how many.
_PUSH = """
local written = 0
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    redis.call('ZADD', key, 'GT', ARGV[2], ARGV[3])
    local extra = redis.call('ZCARD', key) - tonumber(ARGV[1]) - 1
    if extra > 0 then
      redis.call('ZREMRANGEBYRANK', key, 1, extra)
      redis.call('ZADD', key, 'XX', -1, 0)
    end
    written = written + 1
  end
end
return written
"""
#: Keep a fill's arguments well under Lua's stack limit.
_CHUNK = 2000


def _pairs(entries: Iterable[Entry]) -> list[int]:
    flat: list[int] = []
    for subject, score in entries:
        flat += [score, subject]
    return flat


class RedisTimelines(TimelineStore):
    def __init__(self, client: redis.Redis, *, length: int, ttl: float, prefix: str = "feed:home:") -> None:
        super().__init__(length=length, ttl=ttl)
        self.redis = client
        self.prefix = prefix
        self._merge = client.register_script(_MERGE)
        self._fill = client.register_script(_FILL)
        self._push = client.register_script(_PUSH)

    def key(self, user_id: str) -> str:
        return f"{self.prefix}{user_id}"

    def compact_encoding(self) -> bool | None:
        """Whether Redis keeps a full timeline as a listpack (``zset-max-listpack-entries`` above
        the length); None when the server does not tell (``CONFIG`` disabled)."""
        try:
            found: Any = self.redis.config_get("zset-max-listpack-entries")
        except redis.RedisError:
            return None
        value = found.get("zset-max-listpack-entries") if isinstance(found, dict) else None
        return None if value is None else int(value) > self.length

    def _queue_read(self, pipe: Any, user_id: str, before: int | None, count: int) -> None:
        key = self.key(user_id)
        top = f"({before}" if before is not None else "+inf"
        pipe.pexpire(key, int(self.ttl * 1000))
        pipe.zrevrangebyscore(key, top, "(0", start=0, num=count, withscores=True)
        pipe.zcard(key)
        pipe.zscore(key, 0)

    @staticmethod
    def _slice(alive: Any, rows: Any, size: Any, sentinel: Any) -> Slice | None:
        if not alive:
            return None
        return Slice(
            entries=[(int(m), int(s)) for m, s in rows],
            size=max(0, int(size) - 1),
            older=sentinel is not None and float(sentinel) < 0,
        )

    def read(self, user_id: str, before: int | None, count: int) -> Slice | None:
        pipe = self.redis.pipeline(transaction=False)
        self._queue_read(pipe, user_id, before, count)
        return self._slice(*pipe.execute())

    def read_with(
        self, user_id: str, others: TimelineStore, other_ids: Sequence[str], before: int | None, count: int
    ) -> tuple[Slice | None, list[Slice | None]]:
        if not isinstance(others, RedisTimelines) or others.redis is not self.redis:
            return super().read_with(user_id, others, other_ids, before, count)
        pipe = self.redis.pipeline(transaction=False)
        self._queue_read(pipe, user_id, before, count)
        for other in other_ids:
            others._queue_read(pipe, other, before, count)
        found = pipe.execute()
        slices = [self._slice(*found[at : at + 4]) for at in range(0, len(found), 4)]
        return slices[0], slices[1:]

    def fill(self, user_id: str, entries: Iterable[Entry], *, older: bool = False) -> None:
        flat = _pairs(entries)
        key = self.key(user_id)
        self._fill(keys=[key], args=[self.length, int(self.ttl * 1000), -1 if older else 0, *flat[:_CHUNK]])
        for at in range(_CHUNK, len(flat), _CHUNK):
            self._merge(keys=[key], args=[self.length, *flat[at : at + _CHUNK]])

    def merge(self, user_id: str, entries: Iterable[Entry]) -> bool:
        flat = _pairs(entries)
        key = self.key(user_id)
        found = True
        for at in range(0, max(len(flat), 1), _CHUNK):
            found = bool(self._merge(keys=[key], args=[self.length, *flat[at : at + _CHUNK]])) and found
        return found

    def push(self, user_ids: Sequence[str], entry: Entry) -> int:
        """One script call for the whole batch: a fan-out's cost is the timelines it writes, not
        a round trip or a command each (a single Redis, not a cluster: the keys of one call may
        sit anywhere)."""
        if not user_ids:
            return 0
        subject, score = entry
        return int(self._push(keys=[self.key(u) for u in user_ids], args=[self.length, score, subject]))

    def scores(self, user_id: str, subjects: Sequence[int]) -> dict[int, int]:
        wanted = [s for s in subjects if s]
        if not wanted:
            return {}
        found = self.redis.zmscore(self.key(user_id), [str(s) for s in wanted])
        return {s: int(v) for s, v in zip(wanted, found, strict=True) if v is not None}

    def remove(self, user_id: str, subjects: Iterable[int]) -> None:
        members = [s for s in subjects if s]
        if members:
            self.redis.zrem(self.key(user_id), *members)

    def drop(self, user_id: str) -> None:
        self.redis.delete(self.key(user_id))

    def size(self, user_id: str) -> int:
        return max(0, int(self.redis.zcard(self.key(user_id))) - 1)

    def bytes_used(self, user_id: str) -> int | None:
        used = self.redis.memory_usage(self.key(user_id), samples=0)
        return None if used is None else int(used)
