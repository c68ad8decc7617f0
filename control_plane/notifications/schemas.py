"""The notifications domain's wire shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from control_plane.notifications.kinds import KINDS

__all__ = [
    "ChannelPrefs",
    "NotificationOut",
    "PreferencesIn",
    "PreferencesOut",
    "PushSubscriptionIn",
    "PushSubscriptionOut",
    "QuietHours",
    "ReadIn",
    "UnreadOut",
    "VapidKeyOut",
]

TypeName = Literal[tuple(KINDS)]  # type: ignore[valid-type]
HHMM = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="local time, HH:MM")


class Brief(BaseModel):
    id: str
    username: str


class Ref(BaseModel):
    type: str = Field(description="post, video, comment, user, stream, claim, payment...")
    id: str


class NotificationOut(BaseModel):
    """One entry of the inbox. Likes and follows of one subject are one entry: ``count`` actors,
    ``actor`` the latest of them, ``actors`` the latest few; ``text`` says it in words."""

    id: int
    type: str = Field(description=f"one of: {', '.join(KINDS)}")
    actor: Brief | None
    actors: list[Brief]
    subject: Ref
    context: Ref | None = Field(description="what the subject belongs to (the video a comment is on)")
    count: int
    read: bool
    created_at: datetime
    text: str
    data: dict[str, Any]


class ReadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    up_to: int = Field(ge=0, le=2**53 - 1, description="every notification with an id up to this one is read")


class UnreadOut(BaseModel):
    unread: int


class ChannelPrefs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    in_app: bool | None = None
    push: bool | None = None
    email: bool | None = Field(None, description="mailed at once; otherwise it waits for the digest")


class QuietHours(BaseModel):
    """No push between ``start`` and ``end`` (local time; across midnight when ``end`` is earlier)."""

    model_config = ConfigDict(extra="forbid")

    start: str = HHMM
    end: str = HHMM


class PreferencesIn(BaseModel):
    """Any of the keys; ``types`` changes only the channels given. ``quiet_hours: null`` removes them."""

    model_config = ConfigDict(extra="forbid")

    types: dict[TypeName, ChannelPrefs] | None = Field(None, max_length=len(KINDS))  # type: ignore[valid-type]
    digest: Literal["off", "daily", "weekly"] | None = None
    time_zone: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_+\-/]+$")
    quiet_hours: QuietHours | None = None
    push_previews: bool | None = Field(None, description="false: pushes say only that something is new")


class ResolvedChannels(BaseModel):
    in_app: bool
    push: bool
    email: bool


class PreferencesOut(BaseModel):
    types: dict[str, ResolvedChannels]
    digest: Literal["off", "daily", "weekly"]
    time_zone: str
    quiet_hours: QuietHours | None
    push_previews: bool


class Keys(BaseModel):
    p256dh: str = Field(min_length=1, max_length=128)
    auth: str = Field(min_length=1, max_length=64)


class PushSubscriptionIn(BaseModel):
    """The browser's ``PushSubscription`` as ``toJSON()`` gives it; or, for a mobile app,
    ``{"platform": "fcm"|"apns", "token": ...}``."""

    endpoint: str | None = Field(None, min_length=1, max_length=2048, pattern=r"^[^\x00-\x1f\x7f ]+$")
    expirationTime: int | float | None = None  # noqa: N815 - the Push API's own name
    keys: Keys | None = None
    platform: Literal["webpush", "fcm", "apns"] = "webpush"
    token: str | None = Field(None, min_length=1, max_length=4096, pattern=r"^[^\x00-\x1f\x7f ]+$")


class PushSubscriptionOut(BaseModel):
    id: str
    platform: str
    endpoint: str
    created_at: datetime
    last_success_at: datetime | None
    failures: int


class VapidKeyOut(BaseModel):
    public_key: str = Field(description="the applicationServerKey to subscribe with (base64url)")
