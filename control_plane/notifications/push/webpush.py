"""Web Push with pywebpush: the payload encrypted as RFC 8291 ``aes128gcm`` for the browser's
keys, signed with the platform's VAPID key (RFC 8292), TTL, ``Urgency`` and ``Topic`` set."""

from __future__ import annotations

import requests
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush

from control_plane.notifications.push.base import Device, PushGone, PushMessage, PushRetry, PushSender

__all__ = ["WebPushSender"]

GONE = (404, 410)


class WebPushSender(PushSender):
    """``vapid`` is the platform's key; ``subject`` its contact (``mailto:`` or ``https:``), which
    push services use to reach an operator whose pushes misbehave. ``timeout`` seconds."""

    kind = "webpush"

    def __init__(self, vapid: Vapid02, subject: str, *, timeout: float = 10.0) -> None:
        self.vapid = vapid
        self.subject = subject
        self.timeout = timeout
        self.session = requests.Session()

    def send(self, device: Device, message: PushMessage) -> None:
        headers: dict[str, str | int | float] = {
            # the encrypted body is bytes; some push services (and web-push-testing) read only this type
            "Content-Type": "application/octet-stream",
            "Urgency": message.urgency,
        }
        if message.topic:
            headers["Topic"] = message.topic
        try:
            webpush(
                {
                    "endpoint": device.endpoint,
                    "keys": {"p256dh": device.p256dh or "", "auth": device.auth or ""},
                },
                data=message.payload,
                vapid_private_key=self.vapid,
                vapid_claims={"sub": self.subject},
                content_encoding="aes128gcm",
                ttl=message.ttl,
                timeout=self.timeout,
                headers=headers,
                requests_session=self.session,
            )
        except WebPushException as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status in GONE:
                raise PushGone(f"the push service answered {status}: the subscription is gone") from exc
            raise PushRetry(f"the push service answered {status or 'nothing'}") from exc
        except (requests.RequestException, OSError) as exc:
            raise PushRetry(f"the push service could not be reached: {type(exc).__name__}") from exc
        except ValueError as exc:  # keys that are not keys: the device cannot be pushed to, ever
            raise PushGone(f"the subscription's keys are unusable: {exc}") from exc
