"""Mobile push adapters behind the same interface as Web Push: Firebase Cloud Messaging (HTTP v1
API, OAuth 2 with a service account) and Apple's push service (token-based, HTTP/2).

These are left to configuration (``SOCIALFLOW_FCM_CREDENTIALS``, ``SOCIALFLOW_APNS``) and are not
tested here: neither service has a local stand-in, and the tests reach only loopback. A device
registers its token with ``POST /api/v1/push/subscriptions`` as ``{"platform": "fcm"|"apns",
"token": ...}``; the token is kept in the subscription's ``endpoint``.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from control_plane.notifications.push.base import Device, PushGone, PushMessage, PushRetry, PushSender

__all__ = ["ApnsSender", "ApnsSettings", "FcmSender"]

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
FCM_SEND = "https://fcm.googleapis.com/v1/projects/{project}/messages:send"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(header: dict[str, Any], claims: dict[str, Any], key: Any) -> str:
    """A signed JWT: RS256 with an RSA key, ES256 with a P-256 key."""
    signing = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}".encode()
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(signing, padding.PKCS1v15(), hashes.SHA256())
    else:
        r, s = decode_dss_signature(key.sign(signing, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return f"{signing.decode()}.{_b64(signature)}"


class FcmSender(PushSender):
    """Firebase Cloud Messaging, HTTP v1. ``credentials`` is a service account's JSON key file."""

    kind = "fcm"

    def __init__(self, credentials: Path, *, timeout: float = 10.0) -> None:
        account = json.loads(Path(credentials).read_text())
        self.email = account["client_email"]
        self.project = account["project_id"]
        self.token_uri = account.get("token_uri", "https://oauth2.googleapis.com/token")
        self.key = serialization.load_pem_private_key(account["private_key"].encode(), password=None)
        self.client = httpx.Client(timeout=timeout)
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()

    def _access_token(self) -> str:
        with self._lock:
            if self._token is not None and self._token[1] > time.time() + 60:
                return self._token[0]
            now = int(time.time())
            claims = {
                "iss": self.email,
                "scope": FCM_SCOPE,
                "aud": self.token_uri,
                "iat": now,
                "exp": now + 3600,
            }
            answer = self.client.post(
                self.token_uri,
                data={
                    "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                    "assertion": _jwt({"alg": "RS256", "typ": "JWT"}, claims, self.key),
                },
            )
            if answer.status_code != 200:
                raise PushRetry(f"FCM sign-in answered {answer.status_code}")
            body = answer.json()
            self._token = (body["access_token"], time.time() + float(body.get("expires_in", 3600)))
            return self._token[0]

    def send(self, device: Device, message: PushMessage) -> None:
        body = {
            "message": {
                "token": device.endpoint,
                "data": {"payload": message.payload},
                "android": {
                    "ttl": f"{message.ttl}s",
                    "priority": "high" if message.urgency == "high" else "normal",
                },
            }
        }
        try:
            answer = self.client.post(
                FCM_SEND.format(project=self.project),
                json=body,
                headers={"Authorization": f"Bearer {self._access_token()}"},
            )
        except httpx.HTTPError as exc:
            raise PushRetry(f"FCM could not be reached: {type(exc).__name__}") from exc
        if answer.status_code == 404 or "UNREGISTERED" in answer.text:
            raise PushGone("FCM says the token is no longer registered")
        if answer.status_code >= 300:
            raise PushRetry(f"FCM answered {answer.status_code}")


@dataclass(frozen=True)
class ApnsSettings:
    """An APNs token key (``.p8``) with its key id, the team, and the app's bundle id (topic)."""

    key_file: Path
    key_id: str
    team_id: str
    topic: str
    sandbox: bool = False


class ApnsSender(PushSender):
    """Apple's push service, token-based. It speaks HTTP/2 only: this needs the ``h2`` package
    (``pip install 'httpx[http2]'``)."""

    kind = "apns"

    def __init__(self, settings: ApnsSettings, *, timeout: float = 10.0) -> None:
        self.settings = settings
        key = serialization.load_pem_private_key(Path(settings.key_file).read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("an APNs key is a P-256 key (.p8)")
        self.key = key
        host = "api.sandbox.push.apple.com" if settings.sandbox else "api.push.apple.com"
        self.base = f"https://{host}/3/device/"
        self.client = httpx.Client(http2=True, timeout=timeout)
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()

    def _bearer(self) -> str:
        with self._lock:
            if self._token is None or self._token[1] < time.time() - 50 * 60:  # Apple: renew within the hour
                header = {"alg": "ES256", "kid": self.settings.key_id}
                self._token = (
                    _jwt(header, {"iss": self.settings.team_id, "iat": int(time.time())}, self.key),
                    time.time(),
                )
            return self._token[0]

    def send(self, device: Device, message: PushMessage) -> None:
        payload = json.loads(message.payload)
        body = {
            "aps": {"alert": {"title": "Social Flow", "body": payload.get("text", "")}},
            "notification": payload,
        }
        headers = {
            "authorization": f"bearer {self._bearer()}",
            "apns-topic": self.settings.topic,
            "apns-push-type": "alert",
            "apns-expiration": str(int(time.time()) + message.ttl),
            "apns-priority": "10" if message.urgency == "high" else "5",
        }
        if message.topic:
            headers["apns-collapse-id"] = message.topic[:64]
        try:
            answer = self.client.post(self.base + device.endpoint, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise PushRetry(f"APNs could not be reached: {type(exc).__name__}") from exc
        if answer.status_code == 410 or (answer.status_code == 400 and "BadDeviceToken" in answer.text):
            raise PushGone("APNs says the device token is no longer valid")
        if answer.status_code >= 300:
            raise PushRetry(f"APNs answered {answer.status_code}")
