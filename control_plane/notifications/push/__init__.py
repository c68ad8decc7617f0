"""Push delivery behind one interface: Web Push (RFC 8030/8291/8292, pywebpush) for browsers,
and adapters for Firebase Cloud Messaging and Apple's push service for mobile apps."""

from control_plane.notifications.push.base import Device, PushGone, PushMessage, PushRetry, PushSender
from control_plane.notifications.push.mobile import ApnsSender, FcmSender
from control_plane.notifications.push.webpush import WebPushSender

__all__ = [
    "ApnsSender",
    "Device",
    "FcmSender",
    "PushGone",
    "PushMessage",
    "PushRetry",
    "PushSender",
    "WebPushSender",
]
