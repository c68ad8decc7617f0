"""Start-up checks shared by the commands: each failure is one clear line, never a traceback."""

from __future__ import annotations

import re

from sqlalchemy.exc import SQLAlchemyError

from control_plane.core import migrate
from control_plane.core.db import Database
from control_plane.core.settings import ConfigError
from storage import BlobStore

__all__ = ["redact", "check_database", "check_storage", "check_broker", "check_redis"]


def redact(url: str) -> str:
    """The URL with any password replaced, safe to print."""
    return re.sub(r"(//[^:/@]+:)[^@/]*@", r"\1***@", url)


def _reason(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def check_database(db: Database, *, migrate_if_needed: bool) -> None:
    """The database answers and its schema is current (migrating first when asked to)."""
    try:
        db.ping()
    except SQLAlchemyError as exc:
        raise ConfigError(f"cannot reach the database at {redact(db.url)}: {_reason(exc)}") from None
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
    try:
        store.ping()
    except Exception as exc:
        raise ConfigError(f"cannot use the blob store at {redact(url)}: {_reason(exc)}") from None


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
