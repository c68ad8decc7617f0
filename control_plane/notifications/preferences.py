"""Each person's notification preferences: per type and channel, the digest, the time zone, quiet
hours for push, push previews; the conversations they muted and the channels whose bell they rang.

A person with no row has the defaults of ``kinds``; a row keeps only what they changed, so a new
type or a new default reaches everyone who did not choose otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.accounts.models import User
from control_plane.core.db import Database, utcnow
from control_plane.core.errors import Unprocessable
from control_plane.notifications.kinds import CHANNELS, KINDS
from control_plane.notifications.models import ChannelBell, ConversationMute, NotificationPreferences
from control_plane.social.audience import user_named

__all__ = ["DIGESTS", "MUTE_KINDS", "Preferences", "PreferenceService", "zone"]

DIGESTS = ("off", "daily", "weekly")
MUTE_KINDS = ("post", "video")
DEFAULT_DIGEST = "weekly"


class InvalidPreferences(Unprocessable):
    code = "INVALID_PREFERENCES"


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; UTC for one this machine does not know (a zone removed later)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _minutes(value: str) -> int:
    try:
        parsed = time.fromisoformat(value)
    except ValueError as exc:
        raise InvalidPreferences(f"{value!r} is not a time of day (HH:MM).", code="INVALID_TIME") from exc
    return parsed.hour * 60 + parsed.minute


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass
class Preferences:
    """A person's preferences with the defaults filled in."""

    overrides: dict[str, dict[str, bool]] = field(default_factory=dict)
    digest: str = DEFAULT_DIGEST
    time_zone: str = "UTC"
    quiet_start: int | None = None
    quiet_end: int | None = None
    push_previews: bool = True

    def wants(self, type_: str, channel: str) -> bool:
        chosen = self.overrides.get(type_, {}).get(channel)
        if chosen is not None:
            return bool(chosen)
        found = KINDS.get(type_)
        return found.default(channel) if found is not None else channel == "in_app"

    def quiet(self, now: datetime) -> bool:
        """True during the person's quiet hours (in their time zone), when no push goes out."""
        if self.quiet_start is None or self.quiet_end is None or self.quiet_start == self.quiet_end:
            return False
        local = now.astimezone(zone(self.time_zone))
        minute = local.hour * 60 + local.minute
        if self.quiet_start < self.quiet_end:
            return self.quiet_start <= minute < self.quiet_end
        return minute >= self.quiet_start or minute < self.quiet_end  # across midnight

    def document(self) -> dict[str, Any]:
        """The API's form: every type with every channel."""
        quiet = None
        if self.quiet_start is not None and self.quiet_end is not None:
            quiet = {"start": _hhmm(self.quiet_start), "end": _hhmm(self.quiet_end)}
        return {
            "types": {name: {c: self.wants(name, c) for c in CHANNELS} for name in KINDS},
            "digest": self.digest,
            "time_zone": self.time_zone,
            "quiet_hours": quiet,
            "push_previews": self.push_previews,
        }

    @classmethod
    def of(cls, row: NotificationPreferences | None) -> Preferences:
        if row is None:
            return cls()
        return cls(
            overrides={k: dict(v) for k, v in (row.types or {}).items()},
            digest=row.digest,
            time_zone=row.time_zone,
            quiet_start=row.quiet_start,
            quiet_end=row.quiet_end,
            push_previews=row.push_previews,
        )


def load(session: Session, user_ids: Iterable[str]) -> dict[str, Preferences]:
    """Everyone's preferences in one query (defaults for those with no row)."""
    ids = list(set(user_ids))
    rows = session.scalars(sa.select(NotificationPreferences).where(NotificationPreferences.user_id.in_(ids)))
    found = {row.user_id: Preferences.of(row) for row in rows}
    return {user_id: found.get(user_id) or Preferences() for user_id in ids}


class PreferenceService:
    """The only writer of preferences, conversation mutes and bells."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, user_id: str) -> Preferences:
        with self.db.session() as session:
            return Preferences.of(session.get(NotificationPreferences, user_id))

    def update(self, user_id: str, changes: Mapping[str, Any]) -> Preferences:
        """Apply ``changes`` (any of the document's keys; ``types`` merges per type and channel).
        Unknown types or channels, zones and times are refused (422)."""
        with self.db.session(exclusive=True) as session:
            row = session.get(NotificationPreferences, user_id, with_for_update=True)
            if row is None:
                row = NotificationPreferences(
                    user_id=user_id, types={}, digest=DEFAULT_DIGEST, time_zone="UTC", push_previews=True
                )
                session.add(row)
            types = {k: dict(v) for k, v in (row.types or {}).items()}
            for name, channels in (changes.get("types") or {}).items():
                if name not in KINDS:
                    raise InvalidPreferences(f"Unknown notification type {name!r}.", code="UNKNOWN_TYPE")
                for channel, on in channels.items():
                    if channel not in CHANNELS or on is None:
                        continue
                    types.setdefault(name, {})[channel] = bool(on)
            row.types = types
            if changes.get("digest") is not None:
                row.digest = str(changes["digest"])
            if changes.get("time_zone") is not None:
                name = str(changes["time_zone"])
                if name not in _zones():
                    raise InvalidPreferences(f"Unknown time zone {name!r}.", code="UNKNOWN_TIME_ZONE")
                row.time_zone = name
            if "quiet_hours" in changes:
                quiet = changes["quiet_hours"]
                if quiet is None:
                    row.quiet_start = row.quiet_end = None
                else:
                    row.quiet_start, row.quiet_end = _minutes(quiet["start"]), _minutes(quiet["end"])
            if changes.get("push_previews") is not None:
                row.push_previews = bool(changes["push_previews"])
            session.flush()
            return Preferences.of(row)

    def update_if_exists(self, user_id: str, changes: Mapping[str, Any]) -> None:
        """:meth:`update` for an account that may have gone since (an old mail's unsubscribe link)."""
        with self.db.session() as session:
            if session.get(User, user_id) is None:
                return
        self.update(user_id, changes)

    # -- conversation mutes and bells ---------------------------------------------------------

    def mute(self, user_id: str, kind: str, subject_id: str, muted: bool) -> None:
        """Mute (or unmute) a post thread (by its first post) or a video's comments; idempotent."""
        with self.db.session() as session:
            key = {"user_id": user_id, "kind": kind, "subject_id": subject_id}
            row = session.get(ConversationMute, key)
            if muted and row is None:
                session.add(ConversationMute(**key, created_at=utcnow()))
            elif not muted and row is not None:
                session.delete(row)

    def muted(self, user_id: str) -> list[ConversationMute]:
        with self.db.session() as session:
            rows = list(
                session.scalars(
                    sa.select(ConversationMute)
                    .where(ConversationMute.user_id == user_id)
                    .order_by(ConversationMute.created_at.desc())
                    .limit(500)
                )
            )
            session.expunge_all()
            return rows

    def bell(self, user_id: str, username: str, on: bool) -> None:
        """Ring (or silence) the bell of ``username``'s channel: every new video and post of it is
        notified. 404 for an account the caller cannot see (a block)."""
        with self.db.session() as session:
            channel = user_named(session, username, user_id)
            key = {"user_id": user_id, "channel_id": channel.id}
            row = session.get(ChannelBell, key)
            if on and row is None and channel.id != user_id:
                session.add(ChannelBell(**key, created_at=utcnow()))
            elif not on and row is not None:
                session.delete(row)


_ZONES: frozenset[str] | None = None


def _zones() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones()) | {"UTC"}
    return _ZONES
