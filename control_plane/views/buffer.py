"""Where heartbeats land before the database: Redis in production, an in-process equivalent on the
embedded default, one contract for both (``tests/control_plane/test_cp_views_buffer.py``).

A heartbeat is applied in one atomic step (a Lua script in Redis, a lock in process): the
session's accepted watch time grows by what the player claims, capped at the wall time since the
previous heartbeat (so a client cannot inflate it); heartbeats closer together than ``min_gap``
are ignored (no player sends them; a script does). Once a session's watch time reaches the
threshold, the view counts if the viewer's once-per-window mark was free. Views and watch seconds
add into counters keyed ``video|day|country|device``; the session joins the dirty set.

A flush *takes* the counters and the dirty set at once (renamed under a token, so heartbeats go on
into fresh ones), the service writes them to the database with the token, and ``done`` drops
them. A taken batch that was never marked done (the process died) is still listed by
``batches``: the service applies it unless its token is already in the database.
"""

from __future__ import annotations

import math
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Batch", "Beat", "BeatResult", "MemoryViewBuffer", "RedisViewBuffer", "Rules", "ViewBuffer"]


@dataclass(frozen=True)
class Rules:
    """``min_gap``: seconds below which a heartbeat is ignored; ``tolerance``: seconds of watch
    time allowed beyond the wall time between two heartbeats (network jitter); ``window``:
    seconds during which a viewer's view of a video counts once; ``session_ttl``: seconds a
    silent session is kept; ``per_minute``: heartbeats a viewer may send a minute (a sliding
    window, as ``core.ratelimit``'s; 0: no limit), counted in the same atomic step as the beat."""

    min_gap: float = 1.0
    tolerance: float = 1.0
    window: int = 3600
    session_ttl: int = 7200
    per_minute: int = 0


@dataclass(frozen=True)
class Beat:
    """One heartbeat. ``session`` is the session's key (already scoped to video and viewer);
    ``viewer`` identifies the viewer for once-per-window counting; ``now`` is Unix seconds;
    ``day`` the UTC date (ISO) it falls on; ``threshold`` the watch seconds a view needs."""

    session: str
    video_id: str
    owner_id: str
    user_id: str | None
    viewer: str
    country: str
    device: str
    now: float
    day: str
    position: float
    watched: float
    threshold: float


@dataclass(frozen=True)
class BeatResult:
    """``accepted`` is False for a heartbeat ignored as too soon; ``delta`` the watch seconds it
    added; ``watched`` the session's accepted total; ``counted`` whether it made the view count;
    ``retry`` above 0: refused, the viewer is over ``Rules.per_minute`` (seconds to wait)."""

    accepted: bool
    delta: float
    watched: float
    counted: bool
    retry: int = 0


@dataclass
class Batch:
    """A taken flush: ``views`` and ``watch`` keyed ``(video, day, country, device)``;
    ``sessions`` the dirty sessions' states (``id`` plus the fields of :class:`Beat`)."""

    token: str
    views: dict[tuple[str, str, str, str], int] = field(default_factory=dict)
    watch: dict[tuple[str, str, str, str], float] = field(default_factory=dict)
    sessions: list[dict[str, Any]] = field(default_factory=list)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _retry(previous: int, current: int, now: float, per_minute: int) -> int:
    """Seconds to wait when the sliding-window estimate of the last minute is over the limit, else 0."""
    elapsed = (now % 60.0) / 60.0
    if previous * (1.0 - elapsed) + current <= per_minute:
        return 0
    return max(1, math.ceil((1.0 - elapsed) * 60.0))


def _key(raw: str) -> tuple[str, str, str, str]:
    video, day, country, device = raw.split("|")
    return video, day, country, device


class ViewBuffer(ABC):
    def __init__(self, rules: Rules) -> None:
        self.rules = rules

    @abstractmethod
    def beat(self, beat: Beat) -> BeatResult:
        """Apply one heartbeat atomically (see the module's docstring)."""

    def beat_many(self, beats: list[Beat]) -> list[BeatResult]:
        """:meth:`beat` for each, in order (Redis: one round trip for all)."""
        return [self.beat(beat) for beat in beats]

    @abstractmethod
    def take(self, token: str) -> bool:
        """Move what is buffered into a batch named ``token``; False when nothing was buffered."""

    @abstractmethod
    def batches(self) -> list[str]:
        """Tokens of the batches taken and not yet done, oldest first where known."""

    @abstractmethod
    def load(self, token: str) -> Batch:
        """The content of a taken batch (sessions that expired meanwhile are left out)."""

    @abstractmethod
    def done(self, token: str) -> None:
        """Forget a batch once the database has it."""

    def close(self) -> None:
        return None


def _session_state(raw: dict[str, str], session: str) -> dict[str, Any] | None:
    if "v" not in raw:
        return None
    return {
        "id": session,
        "video_id": raw["v"],
        "owner_id": raw["o"],
        "user_id": raw["u"] or None,
        "country": raw["c"],
        "device": raw["d"],
        "started_at": float(raw["f"]),
        "last_at": float(raw["l"]),
        "watched": float(raw["w"]),
        "max_position": float(raw["p"]),
        "heartbeats": int(raw["n"]),
        "counted": raw["k"] == "1",
    }


class MemoryViewBuffer(ViewBuffer):
    """In one process, under one lock."""

    def __init__(self, rules: Rules) -> None:
        super().__init__(rules)
        self._lock = threading.Lock()
        self._sessions: dict[str, dict[str, str]] = {}
        self._seen: dict[str, float] = {}
        self._views: dict[str, int] = {}
        self._watch: dict[str, float] = {}
        self._dirty: set[str] = set()
        self._rate: dict[tuple[str, int], int] = {}
        self._taken: dict[str, tuple[dict[str, int], dict[str, float], dict[str, dict[str, str]]]] = {}

    def beat(self, beat: Beat) -> BeatResult:
        rules = self.rules
        with self._lock:
            self._expire(beat.now)
            if rules.per_minute:
                minute = int(beat.now // 60)
                current = self._rate[(beat.viewer, minute)] = self._rate.get((beat.viewer, minute), 0) + 1
                previous = self._rate.get((beat.viewer, minute - 1), 0)
                retry = _retry(previous, current, beat.now, rules.per_minute)
                if retry:
                    return BeatResult(False, 0.0, 0.0, False, retry)
            state = self._sessions.get(beat.session)
            self._dirty.add(beat.session)
            if state is None:
                self._sessions[beat.session] = {
                    "v": beat.video_id,
                    "o": beat.owner_id,
                    "u": beat.user_id or "",
                    "c": beat.country,
                    "d": beat.device,
                    "f": repr(beat.now),
                    "l": repr(beat.now),
                    "w": "0",
                    "p": repr(beat.position),
                    "k": "0",
                    "n": "1",
                }
                return BeatResult(True, 0.0, 0.0, False)
            gap = beat.now - float(state["l"])
            watched = float(state["w"])
            if gap < rules.min_gap:
                return BeatResult(False, 0.0, watched, False)
            delta = min(max(beat.watched - watched, 0.0), gap + rules.tolerance)
            watched += delta
            field = f"{beat.video_id}|{beat.day}|{state['c']}|{state['d']}"
            counted = False
            if state["k"] == "0" and watched >= beat.threshold:
                seen = f"{beat.video_id}:{beat.viewer}"
                if self._seen.get(seen, 0.0) <= beat.now:
                    self._seen[seen] = beat.now + rules.window
                    self._views[field] = self._views.get(field, 0) + 1
                    state["k"], counted = "1", True
                else:
                    state["k"] = "2"
            if delta > 0:
                self._watch[field] = self._watch.get(field, 0.0) + delta
            state["l"], state["w"] = repr(beat.now), repr(watched)
            state["p"] = repr(max(float(state["p"]), beat.position))
            state["n"] = str(int(state["n"]) + 1)
            return BeatResult(True, delta, watched, counted)

    def _expire(self, now: float) -> None:
        if len(self._rate) > 10_000:
            minute = int(now // 60)
            self._rate = {k: n for k, n in self._rate.items() if k[1] >= minute - 1}
        if len(self._sessions) > 10_000 or len(self._seen) > 10_000:
            ttl = self.rules.session_ttl
            self._sessions = {k: s for k, s in self._sessions.items() if float(s["l"]) + ttl > now}
            self._seen = {k: until for k, until in self._seen.items() if until > now}

    def take(self, token: str) -> bool:
        with self._lock:
            if not (self._views or self._watch or self._dirty):
                return False
            states = {s: dict(self._sessions[s]) for s in self._dirty if s in self._sessions}
            self._taken[token] = (self._views, self._watch, states)
            self._views, self._watch, self._dirty = {}, {}, set()
            return True

    def batches(self) -> list[str]:
        with self._lock:
            return list(self._taken)

    def load(self, token: str) -> Batch:
        with self._lock:
            views, watch, states = self._taken.get(token, ({}, {}, {}))
        sessions = [s for s in (_session_state(raw, key) for key, raw in states.items()) if s]
        return Batch(
            token,
            {_key(k): n for k, n in views.items()},
            {_key(k): w for k, w in watch.items()},
            sessions,
        )

    def done(self, token: str) -> None:
        with self._lock:
            self._taken.pop(token, None)


_BEAT = """
local now = tonumber(ARGV[1])
local pos = tonumber(ARGV[2])
local reported = tonumber(ARGV[3])
local limit = tonumber(ARGV[16])
if limit > 0 then
  local current = redis.call('INCR', KEYS[6])
  if current == 1 then redis.call('EXPIRE', KEYS[6], 120) end
  local previous = tonumber(redis.call('GET', KEYS[7]) or '0')
  local elapsed = (now % 60) / 60
  if previous * (1 - elapsed) + current > limit then
    return {-1, '0', '0', 0, math.max(1, math.ceil((1 - elapsed) * 60))}
  end
end
local s = redis.call('HMGET', KEYS[1], 'l', 'w', 'p', 'k', 'n', 'c', 'd')
redis.call('SADD', KEYS[5], ARGV[14])
if not s[1] then
  redis.call('HSET', KEYS[1], 'v', ARGV[9], 'o', ARGV[10], 'u', ARGV[11], 'c', ARGV[12], 'd', ARGV[13],
             'f', ARGV[1], 'l', ARGV[1], 'w', '0', 'p', ARGV[2], 'k', '0', 'n', '1')
  redis.call('EXPIRE', KEYS[1], ARGV[8])
  return {1, '0', '0', 0}
end
local gap = now - tonumber(s[1])
local watched = tonumber(s[2])
if gap < tonumber(ARGV[5]) then
  return {0, '0', s[2], 0}
end
local delta = reported - watched
if delta < 0 then delta = 0 end
local cap = gap + tonumber(ARGV[6])
if delta > cap then delta = cap end
watched = watched + delta
local maxpos = tonumber(s[3])
if pos > maxpos then maxpos = pos end
local field = ARGV[9] .. '|' .. ARGV[15] .. '|' .. s[6] .. '|' .. s[7]
local k = s[4]
local counted = 0
if k == '0' and watched >= tonumber(ARGV[4]) then
  if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[7]) then
    k = '1'
    counted = 1
    redis.call('HINCRBY', KEYS[3], field, 1)
  else
    k = '2'
  end
end
if delta > 0 then redis.call('HINCRBYFLOAT', KEYS[4], field, delta) end
redis.call('HSET', KEYS[1], 'l', ARGV[1], 'w', tostring(watched), 'p', tostring(maxpos), 'k', k,
           'n', tostring(tonumber(s[5]) + 1))
redis.call('EXPIRE', KEYS[1], ARGV[8])
return {1, tostring(delta), tostring(watched), counted}
"""

_TAKE = """
local moved = 0
for i, name in ipairs({'views', 'watch', 'dirty'}) do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('RENAME', KEYS[i], ARGV[2] .. 'taken:' .. ARGV[1] .. ':' .. name)
    moved = 1
  end
end
if moved == 1 then redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1]) end
return moved
"""


class RedisViewBuffer(ViewBuffer):
    """Redis hashes and sets under ``prefix``; each heartbeat (its rate limit included) and each
    take is one Lua script; :meth:`beat_many` sends many heartbeats' scripts in one pipeline."""

    def __init__(self, url: str, rules: Rules, *, prefix: str = "views:") -> None:
        import redis

        super().__init__(rules)
        self.prefix = prefix
        self._redis = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=10)
        self._beat = self._redis.register_script(_BEAT)
        self._take = self._redis.register_script(_TAKE)

    def _k(self, name: str) -> str:
        return self.prefix + name

    def _call(self, beat: Beat) -> tuple[list[str], list[Any]]:
        rules = self.rules
        minute = int(beat.now // 60)
        keys = [
            self._k(f"s:{beat.session}"),
            self._k(f"seen:{beat.video_id}:{beat.viewer}"),
            self._k("views"),
            self._k("watch"),
            self._k("dirty"),
            self._k(f"rl:{beat.viewer}:{minute}"),
            self._k(f"rl:{beat.viewer}:{minute - 1}"),
        ]
        args = [
            repr(beat.now),
            repr(beat.position),
            repr(beat.watched),
            repr(beat.threshold),
            repr(rules.min_gap),
            repr(rules.tolerance),
            rules.window,
            rules.session_ttl,
            beat.video_id,
            beat.owner_id,
            beat.user_id or "",
            beat.country,
            beat.device,
            beat.session,
            beat.day,
            rules.per_minute,
        ]
        return keys, args

    @staticmethod
    def _result(raw: list[Any]) -> BeatResult:
        accepted, delta, watched, counted, *retry = raw
        if int(accepted) < 0:
            return BeatResult(False, 0.0, 0.0, False, int(retry[0]))
        return BeatResult(bool(accepted), float(delta), float(watched), bool(counted))

    def beat(self, beat: Beat) -> BeatResult:
        keys, args = self._call(beat)
        return self._result(self._beat(keys=keys, args=args))

    def beat_many(self, beats: list[Beat]) -> list[BeatResult]:
        if len(beats) == 1:
            return [self.beat(beats[0])]
        from redis.exceptions import NoScriptError

        calls = [self._call(beat) for beat in beats]
        for attempt in (1, 2):
            # EVALSHA itself: a pipeline given the script object would first ask SCRIPT EXISTS, a
            # round trip of its own on every batch. A server that lost its scripts answers
            # NOSCRIPT to every one of them; loaded again, the batch is sent again.
            pipe = self._redis.pipeline(transaction=False)
            for keys, args in calls:
                pipe.evalsha(self._beat.sha, len(keys), *keys, *args)
            try:
                return [self._result(raw) for raw in pipe.execute()]
            except NoScriptError:
                if attempt == 2:
                    raise
                self._beat.sha = self._redis.script_load(_BEAT)
        raise AssertionError("unreachable")

    def take(self, token: str) -> bool:
        import time

        keys = [self._k("views"), self._k("watch"), self._k("dirty"), self._k("batches")]
        return bool(self._take(keys=keys, args=[token, self.prefix, repr(time.time())]))

    def batches(self) -> list[str]:
        return [_text(t) for t in self._redis.zrange(self._k("batches"), 0, -1)]

    def load(self, token: str) -> Batch:
        base = self._k(f"taken:{token}:")
        views = self._redis.hgetall(base + "views")
        watch = self._redis.hgetall(base + "watch")
        dirty = [_text(d) for d in self._redis.smembers(base + "dirty")]
        sessions: list[dict[str, Any]] = []
        for start in range(0, len(dirty), 1000):
            chunk = dirty[start : start + 1000]
            pipe = self._redis.pipeline(transaction=False)
            for session in chunk:
                pipe.hgetall(self._k(f"s:{session}"))
            for session, raw in zip(chunk, pipe.execute(), strict=True):
                state = _session_state({_text(k): _text(v) for k, v in raw.items()}, session)
                if state is not None:
                    sessions.append(state)
        return Batch(
            token,
            {_key(_text(k)): int(v) for k, v in views.items()},
            {_key(_text(k)): float(v) for k, v in watch.items()},
            sessions,
        )

    def done(self, token: str) -> None:
        base = self._k(f"taken:{token}:")
        pipe = self._redis.pipeline()
        pipe.delete(base + "views", base + "watch", base + "dirty")
        pipe.zrem(self._k("batches"), token)
        pipe.execute()

    def close(self) -> None:
        self._redis.close()
