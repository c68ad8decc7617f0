"""The ads domain's live counters: frequency caps, spend against budgets, single-use beacons and the
delivery counts waiting to be flushed to the database.

Every decision that must hold across API processes is one atomic step here: admitting a campaign
to a viewer (budget left, cap slot free, and taking the slot), counting an impression (once per
serving, charged only within budget) and counting a player event (once, and only after the event
before it). Redis runs each as a Lua script; the in-process form (the embedded default) runs the
same logic under one lock. Spend is in millis (a thousandth of a minor unit); times in ms.

Spend is held to two limits in the same step: the campaign's budget (and daily budget), and the
funds of its advertiser's prepaid balance (``Admission.account`` and ``funds_millis``: what the
advertiser ever deposited, net of refunds), against the advertiser's spend over all campaigns.
"""

from __future__ import annotations

import secrets
import threading
import time
from abc import ABC, abstractmethod
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, NamedTuple

__all__ = [
    "Admission",
    "AdCounters",
    "Batch",
    "MemoryAdCounters",
    "RedisAdCounters",
    "open_counters",
    "PREVIOUS",
    "STALE_MS",
]

#: The event a tracked event must follow, for the order a player sends them in.
PREVIOUS = {
    "start": "impression",
    "firstQuartile": "start",
    "midpoint": "firstQuartile",
    "thirdQuartile": "midpoint",
    "complete": "thirdQuartile",
    "skip": "start",
    "click": "impression",
}
DAY_TTL_MS = 3 * 86_400_000
LAST_AD_TTL_MS = 86_400_000
#: A drained batch not acknowledged for this long (its flush died or failed) is drained again,
#: under the same id, so the database recognises it if it was written.
STALE_MS = 60_000


class Batch(NamedTuple):
    """Delivery counts of one campaign on one UTC day, taken by a flush under ``id``: event names,
    ``spent`` and ``v:<video id>`` (millis carried by that video)."""

    campaign: str
    day: str
    counts: dict[str, int]
    id: str


def _batch_id() -> str:
    return secrets.token_hex(12)


@dataclass(frozen=True)
class Admission:
    """What admitting a campaign needs to know. ``daily`` and ``cap`` are None when unlimited;
    ``bound`` is the most one impression may cost (the bid, in millis). ``account`` is the
    advertiser whose balance pays, ``funds_millis`` what it ever deposited (net of refunds), None
    when the advertiser's balance is not checked (the benchmarks' bare counters)."""

    campaign: str
    budget_millis: int
    daily_millis: int | None
    cap: int | None
    period_ms: int
    bound: int
    account: str = ""
    funds_millis: int | None = None


class AdCounters(ABC):
    @abstractmethod
    def last_ad(self, viewer: str) -> str | None:
        """The creative last served to ``viewer``, if any."""

    @abstractmethod
    def admit(
        self, a: Admission, viewer: str, *, day: str, now_ms: int, take: str | None = None, creative: str = ""
    ) -> bool:
        """Whether the campaign may serve ``viewer`` now: budget (and the day's) not spent to within
        ``bound``, and a frequency-cap slot free. With ``take`` (the serving id) the slot is taken
        and ``creative`` becomes the viewer's last ad, in the same atomic step."""

    @abstractmethod
    def impression(self, serving: str, a: Admission, *, price: int, video: str, day: str, ttl_ms: int) -> int:
        """Count the serving's impression: 0 if already counted, 1 counted but not charged (the
        budget would be overspent), 2 counted and ``price`` millis charged."""

    @abstractmethod
    def event(self, serving: str, campaign: str, event: str, *, day: str, ttl_ms: int) -> int:
        """Count a player event once: 1 counted, 0 a repeat, -1 out of order (its previous event
        was not counted for this serving)."""

    @abstractmethod
    def spent(self, day: str) -> tuple[dict[str, int], dict[str, int]]:
        """Millis spent by every campaign, in all and on ``day``."""

    @abstractmethod
    def accounts(self) -> dict[str, int]:
        """Millis spent by every advertiser, over all their campaigns."""

    @abstractmethod
    def seed(self, spent: dict[str, int], accounts: dict[str, int] | None = None) -> None:
        """Set the total spend of campaigns (and advertisers) the counters do not know (after
        Redis lost them)."""

    #: Milliseconds after which an unacknowledged batch is drained again.
    stale_ms: int = STALE_MS

    @abstractmethod
    def drain(self, limit: int = 500) -> list[Batch]:
        """Take up to ``limit`` batches of delivery counts: first those drained more than
        ``stale_ms`` ago and never acknowledged (same id), then new ones. A batch stays in flight
        until :meth:`ack`: a flush that dies loses nothing."""

    @abstractmethod
    def ack(self, batch: Batch) -> None:
        """The batch is written: forget it."""

    @abstractmethod
    def restore(self, campaign: str, day: str, counts: dict[str, int]) -> None:
        """Give back drained counts that could not be written."""

    def close(self) -> None:
        return None


class MemoryAdCounters(AdCounters):
    """The counters of one process (the embedded default)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, str] = {}
        self._caps: dict[tuple[str, str], list[int]] = defaultdict(list)
        self._total: dict[str, int] = defaultdict(int)
        self._daily: dict[tuple[str, str], int] = defaultdict(int)
        self._accounts: dict[str, int] = defaultdict(int)
        self._beacons: dict[str, set[str]] = defaultdict(set)
        #: When each serving's beacons expire (monotonic-free: the ``now`` of the caller, ms).
        self._expires: dict[str, float] = {}
        self._deltas: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        #: Batches drained and not acknowledged: id -> (batch, when it was taken, monotonic s).
        self._inflight: dict[str, tuple[Batch, float]] = {}

    def last_ad(self, viewer: str) -> str | None:
        return self._last.get(viewer)

    def _open(self, a: Admission, viewer: str, day: str, now_ms: int) -> bool:
        # ``get``: a look must not make a zero total appear (seeding fills only unknown ones)
        if self._total.get(a.campaign, 0) + a.bound > a.budget_millis:
            return False
        if a.daily_millis is not None and self._daily.get((a.campaign, day), 0) + a.bound > a.daily_millis:
            return False
        if a.funds_millis is not None and self._accounts.get(a.account, 0) + a.bound > a.funds_millis:
            return False
        if a.cap is not None:
            slots = self._caps[(a.campaign, viewer)]
            slots[:] = [t for t in slots if t > now_ms - a.period_ms]
            if len(slots) >= a.cap:
                return False
        return True

    def admit(
        self, a: Admission, viewer: str, *, day: str, now_ms: int, take: str | None = None, creative: str = ""
    ) -> bool:
        with self._lock:
            if not self._open(a, viewer, day, now_ms):
                return False
            if take is not None:
                if a.cap is not None:
                    self._caps[(a.campaign, viewer)].append(now_ms)
                self._last[viewer] = creative
            return True

    def impression(self, serving: str, a: Admission, *, price: int, video: str, day: str, ttl_ms: int) -> int:
        with self._lock:
            seen = self._beacons[serving]
            if "impression" in seen:
                return 0
            seen.add("impression")
            self._expires[serving] = time.monotonic() + ttl_ms / 1000
            delta = self._deltas[(a.campaign, day)]
            delta["impression"] += 1
            within = (
                self._total[a.campaign] + price <= a.budget_millis
                and (a.daily_millis is None or self._daily[(a.campaign, day)] + price <= a.daily_millis)
                and (a.funds_millis is None or self._accounts.get(a.account, 0) + price <= a.funds_millis)
            )
            if not within:
                return 1
            self._total[a.campaign] += price
            self._accounts[a.account] += price
            self._daily[(a.campaign, day)] += price
            delta["spent"] += price
            delta[f"v:{video}"] += price
            return 2

    def event(self, serving: str, campaign: str, event: str, *, day: str, ttl_ms: int) -> int:
        with self._lock:
            seen = self._beacons.get(serving, set())
            previous = PREVIOUS.get(event)
            if previous is not None and previous not in seen:
                return -1
            if event in seen:
                return 0
            seen.add(event)
            self._deltas[(campaign, day)][event] += 1
            return 1

    def spent(self, day: str) -> tuple[dict[str, int], dict[str, int]]:
        with self._lock:
            return dict(self._total), {c: v for (c, d), v in self._daily.items() if d == day}

    def accounts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._accounts)

    def seed(self, spent: dict[str, int], accounts: dict[str, int] | None = None) -> None:
        with self._lock:
            for campaign, millis in spent.items():
                if campaign not in self._total:
                    self._total[campaign] = millis
            for account, millis in (accounts or {}).items():
                if account not in self._accounts:
                    self._accounts[account] = millis

    def drain(self, limit: int = 500) -> list[Batch]:
        with self._lock:
            now = time.monotonic()
            for serving in [s for s, at in self._expires.items() if at <= now]:
                self._beacons.pop(serving, None)
                del self._expires[serving]
            for key in [k for k, slots in self._caps.items() if not slots]:
                del self._caps[key]
            stale = now - self.stale_ms / 1000
            taken = [b for b, at in self._inflight.values() if at <= stale][:limit]
            for c, d in list(self._deltas)[: limit - len(taken)]:
                taken.append(Batch(c, d, dict(self._deltas.pop((c, d))), _batch_id()))
            for batch in taken:
                self._inflight[batch.id] = (batch, now)
            return taken

    def ack(self, batch: Batch) -> None:
        with self._lock:
            self._inflight.pop(batch.id, None)

    def restore(self, campaign: str, day: str, counts: dict[str, int]) -> None:
        with self._lock:
            delta = self._deltas[(campaign, day)]
            for field, n in counts.items():
                delta[field] += n


_ADMIT = """
local total = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
local bound = tonumber(ARGV[10])
if total + bound > tonumber(ARGV[2]) then return 0 end
local daily = tonumber(ARGV[3])
if daily >= 0 and tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0') + bound > daily then return 0 end
local funds = tonumber(ARGV[12])
if funds >= 0 and tonumber(redis.call('HGET', KEYS[5], ARGV[11]) or '0') + bound > funds then return 0 end
local cap = tonumber(ARGV[4])
if cap >= 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[6]) - tonumber(ARGV[5]))
  if redis.call('ZCARD', KEYS[1]) >= cap then return 0 end
end
if ARGV[7] ~= '' then
  if cap >= 0 then
    redis.call('ZADD', KEYS[1], ARGV[6], ARGV[7])
    redis.call('PEXPIRE', KEYS[1], ARGV[5])
  end
  redis.call('SET', KEYS[4], ARGV[8], 'PX', ARGV[9])
end
return 1
"""
_IMPRESSION = """
if redis.call('HSETNX', KEYS[1], 'impression', 1) == 0 then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[6])
local price = tonumber(ARGV[2])
redis.call('HINCRBY', KEYS[4], 'impression', 1)
redis.call('SADD', KEYS[5], KEYS[4])
if tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0') + price > tonumber(ARGV[3]) then return 1 end
local daily = tonumber(ARGV[4])
if daily >= 0 and tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0') + price > daily then return 1 end
local funds = tonumber(ARGV[9])
if funds >= 0 and tonumber(redis.call('HGET', KEYS[6], ARGV[8]) or '0') + price > funds then return 1 end
redis.call('HINCRBY', KEYS[2], ARGV[1], price)
redis.call('HINCRBY', KEYS[6], ARGV[8], price)
redis.call('HINCRBY', KEYS[3], ARGV[1], price)
redis.call('PEXPIRE', KEYS[3], ARGV[7])
redis.call('HINCRBY', KEYS[4], 'spent', price)
redis.call('HINCRBY', KEYS[4], 'v:' .. ARGV[5], price)
return 2
"""
_EVENT = """
if ARGV[2] ~= '' and redis.call('HEXISTS', KEYS[1], ARGV[2]) == 0 then return -1 end
if redis.call('HSETNX', KEYS[1], ARGV[1], 1) == 0 then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('SADD', KEYS[3], KEYS[2])
return 1
"""
_TAKE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[1], KEYS[2])
return redis.call('HGETALL', KEYS[2])
"""
_RETAKE = """
local at = redis.call('ZSCORE', KEYS[2], KEYS[1])
if not at or tonumber(at) > tonumber(ARGV[2]) then return false end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], KEYS[1])
  return false
end
redis.call('ZADD', KEYS[2], ARGV[1], KEYS[1])
return redis.call('HGETALL', KEYS[1])
"""


class RedisAdCounters(AdCounters):
    """The counters shared by every API process through one Redis (``SOCIALFLOW_REDIS_URL``)."""

    PREFIX = "ads:"

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=5)
        self._admit = self._redis.register_script(_ADMIT)
        self._impression = self._redis.register_script(_IMPRESSION)
        self._event = self._redis.register_script(_EVENT)
        self._take = self._redis.register_script(_TAKE)
        self._retake = self._redis.register_script(_RETAKE)

    def _k(self, *parts: str) -> str:
        return self.PREFIX + ":".join(parts)

    def last_ad(self, viewer: str) -> str | None:
        value = self._redis.get(self._k("last", viewer))
        return value.decode() if isinstance(value, bytes) else None

    def admit(
        self, a: Admission, viewer: str, *, day: str, now_ms: int, take: str | None = None, creative: str = ""
    ) -> bool:
        keys = [
            self._k("cap", a.campaign, viewer),
            self._k("spent"),
            self._k("spent", day),
            self._k("last", viewer),
            self._k("accounts"),
        ]
        args: list[str | int] = [
            a.campaign,
            a.budget_millis,
            -1 if a.daily_millis is None else a.daily_millis,
            -1 if a.cap is None else a.cap,
            a.period_ms,
            now_ms,
            take or "",
            creative,
            LAST_AD_TTL_MS,
            a.bound,
            a.account,
            -1 if a.funds_millis is None else a.funds_millis,
        ]
        return bool(self._admit(keys=keys, args=args))

    def impression(self, serving: str, a: Admission, *, price: int, video: str, day: str, ttl_ms: int) -> int:
        keys = [
            self._k("b", serving),
            self._k("spent"),
            self._k("spent", day),
            self._k("d", a.campaign, day),
            self._k("dirty"),
            self._k("accounts"),
        ]
        args: list[str | int] = [
            a.campaign,
            price,
            a.budget_millis,
            -1 if a.daily_millis is None else a.daily_millis,
            video,
            ttl_ms,
            DAY_TTL_MS,
            a.account,
            -1 if a.funds_millis is None else a.funds_millis,
        ]
        return int(self._impression(keys=keys, args=args))

    def event(self, serving: str, campaign: str, event: str, *, day: str, ttl_ms: int) -> int:
        keys = [self._k("b", serving), self._k("d", campaign, day), self._k("dirty")]
        return int(self._event(keys=keys, args=[event, PREVIOUS.get(event, ""), ttl_ms]))

    def spent(self, day: str) -> tuple[dict[str, int], dict[str, int]]:
        pipe = self._redis.pipeline(transaction=False)
        pipe.hgetall(self._k("spent"))
        pipe.hgetall(self._k("spent", day))
        total, daily = pipe.execute()
        return (
            {k.decode(): int(v) for k, v in total.items()},
            {k.decode(): int(v) for k, v in daily.items()},
        )

    def accounts(self) -> dict[str, int]:
        found: Any = self._redis.hgetall(self._k("accounts"))
        return {k.decode(): int(v) for k, v in found.items()}

    def seed(self, spent: dict[str, int], accounts: dict[str, int] | None = None) -> None:
        if not spent and not accounts:
            return
        pipe = self._redis.pipeline(transaction=False)
        for campaign, millis in spent.items():
            pipe.hsetnx(self._k("spent"), campaign, millis)
        for account, millis in (accounts or {}).items():
            pipe.hsetnx(self._k("accounts"), account, millis)
        pipe.execute()

    def drain(self, limit: int = 500) -> list[Batch]:
        now_ms = int(time.time() * 1000)
        inflight = self._k("inflight")
        batches: list[Batch] = []
        stale: Any = self._redis.zrangebyscore(inflight, "-inf", now_ms - self.stale_ms, start=0, num=limit)
        for raw in stale:  # batches of a flush that died or failed: the same ids again
            key = raw.decode() if isinstance(raw, bytes) else str(raw)
            flat = self._retake(keys=[key, inflight], args=[now_ms, now_ms - self.stale_ms])
            if flat:
                _, _, campaign, day, batch = key.split(":", 4)
                batches.append(Batch(campaign, day, _counts(flat), batch))
        popped: Any = self._redis.spop(self._k("dirty"), limit - len(batches)) if len(batches) < limit else []
        for raw in popped or []:
            key = raw.decode() if isinstance(raw, bytes) else str(raw)
            _, _, campaign, day = key.split(":", 3)
            batch = _batch_id()
            flat = self._take(
                keys=[key, self._k("f", campaign, day, batch), inflight], args=[now_ms, DAY_TTL_MS]
            )
            if flat:
                batches.append(Batch(campaign, day, _counts(flat), batch))
        return batches

    def ack(self, batch: Batch) -> None:
        key = self._k("f", batch.campaign, batch.day, batch.id)
        pipe = self._redis.pipeline()
        pipe.delete(key)
        pipe.zrem(self._k("inflight"), key)
        pipe.execute()

    def restore(self, campaign: str, day: str, counts: dict[str, int]) -> None:
        key = self._k("d", campaign, day)
        pipe = self._redis.pipeline()
        for field, n in counts.items():
            pipe.hincrby(key, field, n)
        pipe.sadd(self._k("dirty"), key)
        pipe.execute()

    def close(self) -> None:
        self._redis.close()


def _counts(flat: list[Any]) -> dict[str, int]:
    return {flat[i].decode(): int(flat[i + 1]) for i in range(0, len(flat), 2)}


def open_counters(redis_url: str | None) -> AdCounters:
    return RedisAdCounters(redis_url) if redis_url else MemoryAdCounters()
