"""Start-up checks shared by the commands: each failure is one clear line, never a traceback."""

from __future__ import annotations

import re
import time

from sqlalchemy.exc import SQLAlchemyError

from control_plane.core import migrate
from control_plane.core.db import Database
from control_plane.core.settings import ConfigError
from storage import BlobStore, BucketNotFound, S3Store, StorageUnavailable, open_store

__all__ = ["redact", "check_database", "check_storage", "prepare_storage", "check_broker", "check_redis"]


def redact(url: str) -> str:
    """The URL with any password replaced, safe to print."""
    return re.sub(r"(//[^:/@]+:)[^@/]*@", r"\1***@", url)


def _reason(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def check_database(db: Database, *, migrate_if_needed: bool, wait: float = 0.0) -> None:
    """The database answers (tried again for up to ``wait`` seconds) and its schema is current
    (migrating first when asked to)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            db.ping()
            break
        except SQLAlchemyError as exc:
            if time.monotonic() >= deadline:
                raise ConfigError(f"cannot reach the database at {redact(db.url)}: {_reason(exc)}") from None
            time.sleep(1.0)
    if migrate_if_needed:
        migrate.upgrade(db)
        return
    current, head = migrate.current_revision(db), migrate.head_revision()
    if current != head:
        raise ConfigError(
            f"the database schema is at {current or 'nothing'} but this release needs {head}: "
            "run `socialflow migrate` first"
        )


def check_storage(store: BlobStore, url: str) -> None:
    """The blob store answers; a missing S3 bucket is named, with the command that creates it."""
    try:
        store.ping()
    except BucketNotFound as exc:
        raise ConfigError(
            f"cannot use the blob store at {redact(url)}: {_reason(exc)}; `socialflow migrate` creates it"
        ) from None
    except Exception as exc:
        raise ConfigError(f"cannot use the blob store at {redact(url)}: {_reason(exc)}") from None


def prepare_storage(url: str, secret: bytes, *, wait: float = 0.0) -> str:
    """Make the blob store ready: create its S3 bucket when missing (a local folder is made on
    open). A store that cannot be reached is tried again for up to ``wait`` seconds (it may be
    starting beside us). Returns a line saying what was found or done; ConfigError otherwise."""
    store = open_store(url, secret=secret)
    deadline = time.monotonic() + wait
    while True:
        try:
            if isinstance(store, S3Store):
                done = "created" if store.ensure_bucket() else "exists"
                return f"bucket {store.bucket} {done} at {store.endpoint_url or 'AWS'}"
            store.ping()
            return f"blob store at {redact(url)} ready"
        except BucketNotFound as exc:  # missing and not ours to create: waiting will not help
            raise ConfigError(f"cannot use the blob store at {redact(url)}: {_reason(exc)}") from None
        except StorageUnavailable as exc:
            if time.monotonic() >= deadline:
                raise ConfigError(f"cannot use the blob store at {redact(url)}: {_reason(exc)}") from None
            time.sleep(1.0)


def check_broker(url: str) -> None:
    from control_plane.jobs import BrokerUnavailable, ping_broker
    from workers.broker import make_broker

    try:
        broker = make_broker(url)
        try:
            ping_broker(broker)
        finally:
            broker.close()
    except (BrokerUnavailable, OSError, ValueError) as exc:
        raise ConfigError(f"cannot reach the broker at {redact(url)}: {_reason(exc)}") from None
    except Exception as exc:  # pika and redis raise their own connection errors
        raise ConfigError(f"cannot reach the broker at {redact(url)}: {_reason(exc)}") from None


def check_redis(url: str) -> None:
    from control_plane.core.kv import RedisKeyValue

    kv = RedisKeyValue(url)
    try:
        kv.ping()
    except Exception as exc:
        raise ConfigError(f"cannot reach Redis at {redact(url)}: {_reason(exc)}") from None
    finally:
        kv.close()
