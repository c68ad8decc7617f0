"""Delivering notifications: Web Push to a real push service on loopback (npm web-push-testing,
which checks the VAPID signature and decrypts each message), the headers a push carries, devices
that are gone or down, and mail over a real SMTP server (aiosmtpd): at once, in digests, with a
one-click unsubscribe."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from py_vapid import Vapid02
from support.notify import API, drain, notifying_platform
from support.platform import Platform
from support.smtp import SmtpServer
from support.social import Member, member
from support.waiting import wait_until
from support.webpush import PushService

from control_plane.core.db import utcnow
from control_plane.jobs.models import Job
from control_plane.notifications.devices import Pusher
from control_plane.notifications.models import PushSubscription
from control_plane.notifications.preferences import Preferences
from control_plane.notifications.push import Device, PushGone, PushMessage, PushRetry, WebPushSender

SUBS = f"{API}/push/subscriptions"
PREFS = f"{API}/users/me/notification-preferences"


def vapid_pem() -> str:
    key = Vapid02()
    key.generate_keys()
    return key.private_pem().decode()


@pytest.fixture(params=["sqlite", "postgres"])
def plat(
    request: pytest.FixtureRequest, tmp_path: Path, platform_factory: Callable[..., Platform]
) -> Platform:
    # the embedded default makes its own VAPID key; production is given one
    extra = {"vapid_private_key": vapid_pem()} if request.param == "postgres" else {}
    return notifying_platform(
        request.param, request, tmp_path, platform_factory, push_insecure_hosts=["127.0.0.1"], **extra
    )


def device(p: Platform, who: Member, service: PushService) -> dict[str, Any]:
    key = p.client.get(f"{API}/push/vapid-public-key").json()["public_key"]
    sub = service.subscribe(key)
    r = p.client.post(SUBS, json={"endpoint": sub["endpoint"], "keys": sub["keys"]}, headers=who.headers)
    assert r.status_code == 201, r.text
    return sub


def like_of(p: Platform, author: Member, fan: Member) -> str:
    post = p.client.post(f"{API}/posts", json={"text": "like me"}, headers=author.headers).json()["id"]
    assert p.client.put(f"{API}/posts/{post}/like", headers=fan.headers).status_code == 204
    return str(post)


def test_web_push_reaches_the_device_as_the_person_chose(plat: Platform, push_service: PushService) -> None:
    ada, bob = member(plat, "ada"), member(plat, "bob")
    sub = device(plat, ada, push_service)
    post = like_of(plat, ada, bob)
    drain(plat)
    (message,) = [json.loads(m) for m in push_service.messages(sub["clientHash"])]
    assert message["type"] == "like" and message["text"] == "bob liked your post"
    assert message["subject"] == {"type": "post", "id": post} and isinstance(message["id"], int)
    # no previews: nothing of who or what
    plat.client.put(PREFS, json={"push_previews": False}, headers=ada.headers)
    plat.client.post(f"{API}/posts", json={"text": "@ada look"}, headers=bob.headers)
    drain(plat)
    assert json.loads(push_service.messages(sub["clientHash"])[-1])["text"] == "You have a new notification"
    # quiet hours all day long: the inbox has it, the device is not woken
    plat.client.put(PREFS, json={"quiet_hours": {"start": "00:00", "end": "23:59"}}, headers=ada.headers)
    plat.client.post(f"{API}/posts", json={"text": "@ada again"}, headers=bob.headers)
    drain(plat)
    assert len(push_service.messages(sub["clientHash"])) == 2
    # a subscription the push service calls gone (410) is forgotten
    plat.client.put(PREFS, json={"quiet_hours": None}, headers=ada.headers)
    push_service.expire(sub["clientHash"])
    plat.client.post(f"{API}/posts", json={"text": "@ada gone?"}, headers=bob.headers)
    drain(plat)
    assert plat.client.get(SUBS, headers=ada.headers).json() == []


def test_subscriptions_are_checked_kept_per_device_and_removed_by_endpoint(
    plat: Platform, push_service: PushService
) -> None:
    ada, bob = member(plat, "ada"), member(plat, "bob")
    sub = device(plat, ada, push_service)
    keys = sub["keys"]
    for bad in (
        {"endpoint": "http://push.example.com/x", "keys": keys},  # not https
        {"endpoint": sub["endpoint"], "keys": {"p256dh": "AAAA", "auth": keys["auth"]}},
        {"endpoint": sub["endpoint"]},
        {"platform": "fcm", "token": "abc"},  # not configured here
    ):
        r = plat.client.post(SUBS, json=bad, headers=ada.headers)
        assert r.status_code == 422, (bad, r.text)
    # the same device signing in as bob moves to bob
    plat.client.post(SUBS, json={"endpoint": sub["endpoint"], "keys": keys}, headers=bob.headers)
    assert plat.client.get(SUBS, headers=ada.headers).json() == []
    (mine,) = plat.client.get(SUBS, headers=bob.headers).json()
    assert mine["platform"] == "webpush" and mine["endpoint"] == sub["endpoint"]
    assert (
        plat.client.delete(SUBS, params={"endpoint": sub["endpoint"]}, headers=ada.headers).status_code == 404
    )
    assert (
        plat.client.delete(SUBS, params={"endpoint": sub["endpoint"]}, headers=bob.headers).status_code == 204
    )
    assert plat.client.get(SUBS, headers=bob.headers).json() == []


def test_a_dead_push_service_never_blocks_the_producer_and_is_retried(
    plat: Platform, push_service: PushService
) -> None:
    ada, bob = member(plat, "ada"), member(plat, "bob")
    sub = push_service.subscribe(plat.client.get(f"{API}/push/vapid-public-key").json()["public_key"])
    dead = "http://127.0.0.1:9/notify/nobody"  # nothing listens on port 9
    plat.client.post(SUBS, json={"endpoint": dead, "keys": sub["keys"]}, headers=ada.headers)
    like_of(plat, ada, bob)  # answered 204 above, with the push service down

    def failed_once() -> tuple[Job, PushSubscription] | None:
        with plat.services.db.session() as session:
            job = session.scalars(sa.select(Job).where(Job.kind == "notifications.push")).first()
            row = session.scalars(sa.select(PushSubscription)).one()
        return (job, row) if job is not None and job.error and row.failures >= 1 else None

    found = wait_until(failed_once, 30)
    assert isinstance(found, tuple), "the push job did not fail its first attempt"
    job: Job = found[0]
    row: PushSubscription = found[1]
    # the attempt failed, the device's failure is recorded, and the job will try that device again
    assert "could not be reached" in (row.last_error or "") and "will be tried again" in (job.error or "")
    assert job.max_attempts == 6 and job.args["devices"] == [[row.id]]


class Capture(http.server.BaseHTTPRequestHandler):
    """A push service on loopback that keeps each request and answers with ``status``."""

    seen: list[dict[str, Any]] = []
    status = 201

    def do_POST(self) -> None:  # noqa: N802 - http.server's hook
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Capture.seen.append({"headers": dict(self.headers), "body": body})
        self.send_response(Capture.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def capture() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Capture.seen, Capture.status = [], 201
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/push/device"
    finally:
        server.shutdown()
        thread.join()


def test_a_push_carries_ttl_urgency_topic_and_a_vapid_signature(
    capture: str, push_service: PushService
) -> None:
    key = Vapid02()
    key.generate_keys()
    from control_plane.notifications.vapid import public_key

    keys = push_service.subscribe(public_key(key))["keys"]
    sender = WebPushSender(key, "mailto:ops@example.com", timeout=5)
    item = {"user": "u1", "type": "like", "subject": ["post", "p1"], "actor": None, "id": 7}
    prefs = Preferences()
    message = Pusher._message(item, prefs, "ada")
    sender.send(Device("webpush", capture, keys["p256dh"], keys["auth"]), message)
    (seen,) = Capture.seen
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert headers["ttl"] == str(24 * 3600) and headers["urgency"] == "low"
    assert len(headers["topic"]) == 32 and headers["content-encoding"] == "aes128gcm"
    assert headers["content-type"] == "application/octet-stream"
    assert (
        headers["authorization"].startswith("vapid t=") and f"k={public_key(key)}" in headers["authorization"]
    )
    assert b"ada liked" not in seen["body"]  # encrypted
    live = Pusher._message({**item, "type": "live", "subject": ["stream", "s1"]}, prefs, "ada")
    assert (live.ttl, live.urgency, live.topic) == (15 * 60, "high", None)
    for status, error in ((410, PushGone), (404, PushGone), (503, PushRetry), (429, PushRetry)):
        Capture.status = status
        with pytest.raises(error):
            sender.send(Device("webpush", capture, keys["p256dh"], keys["auth"]), PushMessage("{}", 60))


# -- mail ------------------------------------------------------------------------------------


@pytest.fixture
def mailing(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    platform_factory: Callable[..., Platform],
    smtp_server: SmtpServer,
) -> Platform:
    return notifying_platform("sqlite", request, tmp_path, platform_factory, smtp_url=smtp_server.url)


def verified(p: Platform, name: str) -> Member:
    from control_plane.accounts.models import User

    who = member(p, name)
    with p.services.db.session() as session:
        user = session.get(User, who.id)
        assert user is not None
        user.email_verified_at = utcnow()
    return who


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_mail_at_once_is_multipart_with_a_one_click_unsubscribe(
    mailing: Platform, smtp_server: SmtpServer
) -> None:
    ada, bob, eve = verified(mailing, "ada"), member(mailing, "bob"), member(mailing, "eve")
    mailing.client.put(PREFS, json={"types": {"like": {"email": True}}}, headers=ada.headers)
    mailing.client.put(PREFS, json={"types": {"like": {"email": True}}}, headers=eve.headers)  # not verified
    like_of(mailing, ada, bob)
    like_of(mailing, eve, bob)
    drain(mailing)
    (mail,) = smtp_server.wait(1)
    assert mail["To"] == "ada@example.com" and mail["Subject"] == "bob liked your post"
    assert mail.get_body(("plain",)) is not None and mail.get_body(("html",)) is not None
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = mail["List-Unsubscribe"].strip("<>")
    assert link in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    page = mailing.client.get(path_of(link))
    assert page.status_code == 200 and "<form" in page.text
    assert (
        mailing.client.get(PREFS, headers=ada.headers).json()["types"]["like"]["email"] is True
    )  # a GET changes nothing
    r = mailing.client.post(
        path_of(link),
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200 and "no more emails about like" in r.text
    assert mailing.client.get(PREFS, headers=ada.headers).json()["types"]["like"]["email"] is False
    forged = link.rsplit(".", 1)[0] + ".AAAAAAAAAAAAAAAAAAAAAA"
    assert mailing.client.post(path_of(forged)).status_code == 404


def test_digests_go_out_once_in_the_persons_morning(mailing: Platform, smtp_server: SmtpServer) -> None:
    ada, bob = verified(mailing, "ada"), member(mailing, "bob")
    mailing.client.put(PREFS, json={"digest": "daily", "time_zone": "Asia/Tokyo"}, headers=ada.headers)
    for text in ("one @ada", "two @ada"):
        mailing.client.post(f"{API}/posts", json={"text": text}, headers=bob.headers)
    like_of(mailing, ada, bob)
    drain(mailing)
    digests = mailing.services.notifications.digests
    tokyo_night = datetime(2026, 12, 7, 18, 0, tzinfo=UTC)  # 03:00 in Tokyo: not yet
    assert digests.run(tokyo_night) == 0
    tokyo_morning = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)  # 08:30 in Tokyo
    assert digests.run(tokyo_morning) == 1
    assert digests.run(tokyo_morning + timedelta(hours=2)) == 0  # once a day
    drain(mailing)
    (mail,) = smtp_server.wait(1)
    assert mail["Subject"] == "Your daily Social Flow digest: 3 new notifications"
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "- bob liked your post" in text and text.count("bob mentioned you") == 2
    mailing.client.post(f"{API}/posts", json={"text": "three @ada"}, headers=bob.headers)
    drain(mailing)
    assert digests.run(tokyo_morning + timedelta(days=1)) == 1
    drain(mailing)
    second = smtp_server.wait(2)[1]
    assert "1 new notification" in second["Subject"]
    mailing.client.post(path_of(second["List-Unsubscribe"].strip("<>")))
    assert mailing.client.get(PREFS, headers=ada.headers).json()["digest"] == "off"


def test_a_dead_mail_server_never_reaches_the_producer(
    request: pytest.FixtureRequest, tmp_path: Path, platform_factory: Callable[..., Platform]
) -> None:
    p = notifying_platform(
        "sqlite", request, tmp_path, platform_factory, smtp_url="smtp://127.0.0.1:9?timeout=1"
    )
    ada, bob = verified(p, "ada"), member(p, "bob")
    p.client.put(PREFS, json={"types": {"like": {"email": True}}}, headers=ada.headers)
    like_of(p, ada, bob)  # 204, the mail server down
    p.services.notifications.intake.flush()
    p.services.broker.join("notifications", timeout=30_000, fail_fast=False)  # type: ignore[call-arg]
    with p.services.db.session() as session:
        kinds = dict(session.execute(sa.select(Job.kind, Job.status)).all())
    assert kinds["notifications.drain"] == "succeeded" and "email.send" in kinds
