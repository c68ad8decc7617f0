"""A small key-value interface for counters, short-lived flags and locks.

Redis in production (``SOCIALFLOW_REDIS_URL``); an in-process equivalent on the embedded default.
Values are bytes; ``ttl`` is seconds.
"""

from __future__ import annotations

import secrets
import threading
import time
from abc import ABC, abstractmethod
from typing import Any

__all__ = ["KeyValue", "MemoryKeyValue", "RedisKeyValue", "open_kv"]


class KeyValue(ABC):
    @abstractmethod
    def get(self, key: str) -> bytes | None: ...

    @abstractmethod
    def set(self, key: str, value: bytes, *, ttl: float | None = None, only_if_absent: bool = False) -> bool:
        """Store the value; with ``only_if_absent`` return False (and change nothing) if the key exists."""

    @abstractmethod
    def incr(self, key: str, *, ttl: float | None = None) -> int:
        """Add one and return the new count; ``ttl`` applies when the key is created."""

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def ping(self) -> None:
        """Raise if the store cannot be reached."""

    @abstractmethod
    def compare_and_delete(self, key: str, expected: bytes) -> bool:
        """Delete the key only if it holds ``expected``; True if deleted."""

    @abstractmethod
    def compare_and_expire(self, key: str, expected: bytes, ttl: float) -> bool:
        """Reset the key's TTL only if it holds ``expected``; True if it did."""

    def acquire_lock(self, name: str, ttl: float) -> str | None:
        """A token if the lock ``name`` was free (it then expires after ``ttl`` s unless extended)."""
        token = secrets.token_hex(16)
        return token if self.set(f"lock:{name}", token.encode(), ttl=ttl, only_if_absent=True) else None

    def extend_lock(self, name: str, token: str, ttl: float) -> bool:
        return self.compare_and_expire(f"lock:{name}", token.encode(), ttl)

    def release_lock(self, name: str, token: str) -> None:
        self.compare_and_delete(f"lock:{name}", token.encode())

    def close(self) -> None:
        return None


class MemoryKeyValue(KeyValue):
    """Thread-safe, in one process; expired keys are dropped when touched."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[bytes, float | None]] = {}
        self._lock = threading.Lock()

    def _live(self, key: str) -> tuple[bytes, float | None] | None:
        item = self._data.get(key)
        if item is not None and item[1] is not None and item[1] <= time.monotonic():
            del self._data[key]
            return None
        return item

    def get(self, key: str) -> bytes | None:
        with self._lock:
            item = self._live(key)
            return item[0] if item else None

    def set(self, key: str, value: bytes, *, ttl: float | None = None, only_if_absent: bool = False) -> bool:
        with self._lock:
            if only_if_absent and self._live(key) is not None:
                return False
            self._data[key] = (value, time.monotonic() + ttl if ttl else None)
            return True

    def incr(self, key: str, *, ttl: float | None = None) -> int:
        with self._lock:
            item = self._live(key)
            count = int(item[0]) + 1 if item else 1
            expiry = item[1] if item else (time.monotonic() + ttl if ttl else None)
            self._data[key] = (str(count).encode(), expiry)
            return count

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def compare_and_delete(self, key: str, expected: bytes) -> bool:
        with self._lock:
            item = self._live(key)
            if item is None or item[0] != expected:
                return False
            del self._data[key]
            return True

    def compare_and_expire(self, key: str, expected: bytes, ttl: float) -> bool:
        with self._lock:
            item = self._live(key)
            if item is None or item[0] != expected:
                return False
            self._data[key] = (item[0], time.monotonic() + ttl)
            return True

    def ping(self) -> None:
        return None


_COMPARE_AND_DELETE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_COMPARE_AND_EXPIRE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class RedisKeyValue(KeyValue):
    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=5)

    @property
    def client(self) -> Any:
        """The ``redis.Redis`` client, for a domain that keeps richer structures than bytes (the
        feed's sorted sets) on the same connections."""
        return self._redis

    def get(self, key: str) -> bytes | None:
        value = self._redis.get(key)
        return value if isinstance(value, bytes) else None

    def set(self, key: str, value: bytes, *, ttl: float | None = None, only_if_absent: bool = False) -> bool:
        px = int(ttl * 1000) if ttl else None
        return bool(self._redis.set(key, value, px=px, nx=only_if_absent))

    def incr(self, key: str, *, ttl: float | None = None) -> int:
        pipe = self._redis.pipeline()
        pipe.incr(key)
        if ttl:
            pipe.pexpire(key, int(ttl * 1000), nx=True)
        return int(pipe.execute()[0])

    def delete(self, key: str) -> None:
        self._redis.delete(key)

    def compare_and_delete(self, key: str, expected: bytes) -> bool:
        return bool(self._redis.eval(_COMPARE_AND_DELETE, 1, key, expected))

    def compare_and_expire(self, key: str, expected: bytes, ttl: float) -> bool:
        return bool(self._redis.eval(_COMPARE_AND_EXPIRE, 1, key, expected, int(ttl * 1000)))

    def ping(self) -> None:
        self._redis.ping()

    def close(self) -> None:
        self._redis.close()


def open_kv(url: str | None) -> KeyValue:
    return RedisKeyValue(url) if url else MemoryKeyValue()
