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

from control_plane.feed.stores.base import Entry, Merged, Slice, TimelineStore

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
#: ARGV: ttl in ms, the top score (``+inf`` or ``(N``), count. For each of KEYS: nil when the
#: timeline does not exist, else {size with the sentinel, older flag, entries below the top}.
_READ = """
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 0 then
    out[i] = false
  else
    redis.call('PEXPIRE', key, ARGV[1])
    local rows = redis.call(
      'ZREVRANGEBYSCORE', key, ARGV[2], '(0', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))
    local sentinel = redis.call('ZSCORE', key, 0)
    local older = 0
    if sentinel and tonumber(sentinel) < 0 then older = 1 end
    out[i] = {redis.call('ZCARD', key), older, rows}
  end
end
return out
"""
#: ARGV as ``_READ``. The entries of all KEYS below the top, merged newest first, cut to count:
#: {0} when a timeline does not exist or ends short of count while older shares exist (read
#: them one by one), else {size of KEYS[1] with the sentinel, 1 when every timeline had fewer
#: than count entries, {subject, score, 1 if from KEYS[1] else 0, ...}}.
_READ_MERGED = """
local count = tonumber(ARGV[3])
local all = {}
local done = 1
local size = 0
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 0 then return {0} end
  redis.call('PEXPIRE', key, ARGV[1])
  local rows = redis.call(
    'ZREVRANGEBYSCORE', key, ARGV[2], '(0', 'WITHSCORES', 'LIMIT', 0, count)
  local n = #rows / 2
  if n >= count then
    done = 0
  else
    local sentinel = redis.call('ZSCORE', key, 0)
    if sentinel and tonumber(sentinel) < 0 then return {0} end
  end
  if i == 1 then size = redis.call('ZCARD', key) end
  local mine = 0
  if i == 1 then mine = 1 end
  for j = 1, #rows, 2 do
    all[#all + 1] = {tonumber(rows[j]), tonumber(rows[j + 1]), mine}
  end
end
if #KEYS > 1 then table.sort(all, function(a, b) return a[2] > b[2] end) end
local flat = {}
for j = 1, math.min(#all, count) do
  flat[#flat + 1] = all[j][1]
  flat[#flat + 1] = all[j][2]
  flat[#flat + 1] = all[j][3]
end
return {1, size, done, flat}
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
        self._read = client.register_script(_READ)
        self._read_merged = client.register_script(_READ_MERGED)

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

    def _read_keys(self, keys: list[str], before: int | None, count: int) -> list[Slice | None]:
        top = f"({before}" if before is not None else "+inf"
        found = self._read(keys=keys, args=[int(self.ttl * 1000), top, count])
        slices: list[Slice | None] = []
        for one in found:
            if not one:
                slices.append(None)
                continue
            size, older, rows = one
            pairs = [(int(rows[i]), int(float(rows[i + 1]))) for i in range(0, len(rows), 2)]
            slices.append(Slice(entries=pairs, size=max(0, int(size) - 1), older=bool(older)))
        return slices

    def read(self, user_id: str, before: int | None, count: int) -> Slice | None:
        return self._read_keys([self.key(user_id)], before, count)[0]

    def read_with(
        self, user_id: str, others: TimelineStore, other_ids: Sequence[str], before: int | None, count: int
    ) -> tuple[Slice | None, list[Slice | None]]:
        """One script call for the reader's timeline and the pulled authors' (a single Redis:
        the keys may sit anywhere); each keeps the ttl of its own store."""
        if not isinstance(others, RedisTimelines) or others.redis is not self.redis or others.ttl != self.ttl:
            return super().read_with(user_id, others, other_ids, before, count)
        slices = self._read_keys([self.key(user_id), *(others.key(o) for o in other_ids)], before, count)
        return slices[0], slices[1:]

    def read_merged(
        self, user_id: str, others: TimelineStore, other_ids: Sequence[str], before: int | None, count: int
    ) -> Merged | None:
        """One script call that merges the timelines in Redis and answers only the ``count``
        newest entries (a reader following 50 pulled authors gets 20 entries, not 50 × 20)."""
        if not isinstance(others, RedisTimelines) or others.redis is not self.redis or others.ttl != self.ttl:
            return super().read_merged(user_id, others, other_ids, before, count)
        top = f"({before}" if before is not None else "+inf"
        keys = [self.key(user_id), *(others.key(o) for o in other_ids)]
        found = self._read_merged(keys=keys, args=[int(self.ttl * 1000), top, count])
        if not found or not int(found[0]):
            return None
        _, size, done, flat = found
        entries = [(int(flat[i]), int(flat[i + 1])) for i in range(0, len(flat), 3)]
        mine = {int(flat[i]) for i in range(0, len(flat), 3) if int(flat[i + 2])}
        return Merged(entries=entries, from_timeline=mine, size=max(0, int(size) - 1), done=bool(int(done)))

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
