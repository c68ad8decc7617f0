"""Payments through the API on both backends, with the local provider (the embedded default):
plans, memberships through checkout, members-only videos, renewals, failed renewals with grace,
cancellation at period end, pro-rated plan changes, tips and their message, refunds, payouts by
watch time with Content-ID monetize claims, statements, and who may see whose money."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from support.notify import drain, inbox
from support.platform import Platform
from support.social import Member, member, ready_video

from control_plane.contentid.models import Claim, Reference
from control_plane.payments.events import MembershipChanged, TipReceived
from control_plane.payments.ledger import Ledger
from control_plane.payments.models import Charge, Membership
from control_plane.payments.payouts import previous_month
from control_plane.payments.revenue import RecordedWatchTime


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def plan(p: Platform, creator: Member, amount: int = 500, name: str = "Gold", currency: str = "usd") -> str:
    r = p.client.post(
        "/api/v1/creators/me/plans",
        json={"name": name, "amount": amount, "currency": currency, "interval": "month"},
        headers=creator.headers,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def join(p: Platform, who: Member, plan_id: str) -> str:
    r = p.client.post("/api/v1/subscriptions", json={"plan_id": plan_id}, headers=who.headers)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "pending"
    assert p.client.post(path_of(r.json()["checkout_url"])).json() == {"status": "complete"}
    return str(r.json()["id"])


def sub_of(p: Platform, who: Member, membership_id: str) -> dict:
    items = p.client.get("/api/v1/users/me/subscriptions", headers=who.headers).json()["items"]
    return next(i for i in items if i["id"] == membership_id)


def ledger_ok(p: Platform) -> None:
    with p.services.db.session() as session:
        check = Ledger.check(session)
    assert check.ok, check


def shift(p: Platform, days: int) -> None:
    """Move every local subscription's period and every charge's hold ``days`` into the past."""
    from control_plane.payments.models import LocalObject

    with p.services.db.session() as session:
        for obj in session.execute(
            sa.select(LocalObject).where(LocalObject.kind == "subscription")
        ).scalars():
            data = dict(obj.data)
            for key in ("period_start", "period_end"):
                data[key] = (datetime.fromisoformat(data[key]) - timedelta(days=days)).isoformat()
            obj.data = data
        for charge in session.execute(sa.select(Charge)).scalars():
            charge.available_at -= timedelta(days=days)
        for m in session.execute(sa.select(Membership)).scalars():
            if m.access_until is not None:
                m.access_until -= timedelta(days=days)


def test_membership_opens_members_only_videos(platform_on: Callable[..., Platform]) -> None:
    p = platform_on()
    seen: list[object] = []
    p.services.events.subscribe(MembershipChanged, seen.append)
    alice, bob, carol = member(p, "alice"), member(p, "bob"), member(p, "carol")
    video = ready_video(p, alice, visibility="members")
    with p.services.db.session() as session:
        session.execute(
            sa.text("UPDATE videos SET outputs = :o WHERE id = :v"),
            {"o": '{"hls": "hls/master.m3u8"}', "v": video},
        )
    assert p.client.get(f"/api/v1/videos/{video}", headers=bob.headers).status_code == 404
    assert p.client.get(f"/api/v1/videos/{video}").status_code == 404
    assert p.client.get(f"/media/videos/{video}/hls/master.m3u8").status_code == 403
    membership = join(p, bob, plan(p, alice))
    assert sub_of(p, bob, membership)["status"] == "active"
    body = p.client.get(f"/api/v1/videos/{video}", headers=bob.headers).json()
    assert "/t/" in body["playback"]["hls"]  # signed playback, as for private videos
    assert p.client.get(f"/api/v1/videos/{video}", headers=carol.headers).status_code == 404
    assert p.client.get(f"/api/v1/videos/{video}", headers=alice.headers).status_code == 200
    # not listed in the public catalogue or the channel's public list
    assert video not in [v["id"] for v in p.client.get("/api/v1/videos").json()["items"]]
    assert p.client.get("/api/v1/users/me/balance", headers=alice.headers).json() == {
        "usd": {"available": 0, "pending": 350}
    }
    assert any(isinstance(e, MembershipChanged) and e.status == "active" for e in seen)
    # joining twice is refused; your own channel too
    plan_id = sub_of(p, bob, membership)["plan"]["id"]
    assert (
        p.client.post("/api/v1/subscriptions", json={"plan_id": plan_id}, headers=bob.headers).status_code
        == 409
    )
    assert (
        p.client.post("/api/v1/subscriptions", json={"plan_id": plan_id}, headers=alice.headers).status_code
        == 403
    )
    ledger_ok(p)


def test_renewal_grace_and_cancel_at_period_end(platform_on: Callable[..., Platform]) -> None:
    p = platform_on()
    alice, bob = member(p, "alice"), member(p, "bob")
    membership = join(p, bob, plan(p, alice))
    local = p.services.payments.local
    assert local is not None
    first_end = sub_of(p, bob, membership)["current_period_end"]
    shift(p, 31)
    assert local.renew_due() == 1  # renewed: a second invoice paid
    renewed = sub_of(p, bob, membership)
    assert renewed["status"] == "active" and renewed["current_period_end"] != first_end
    assert p.client.get("/api/v1/users/me/balance", headers=alice.headers).json()["usd"]["pending"] == 700
    # the card stops working: past due, access lasts the grace period, then ends
    with p.services.db.session() as session:
        ref = session.get(Membership, membership).subscription_ref  # type: ignore[union-attr]
    local.decline(ref)
    shift(p, 31)
    local.renew_due()
    lapsed = sub_of(p, bob, membership)
    assert lapsed["status"] == "past_due"
    assert datetime.fromisoformat(lapsed["access_until"]) > datetime.now(UTC) + timedelta(days=6)
    with p.services.db.session() as session:
        from control_plane.payments.memberships import is_member

        assert is_member(session, alice.id, bob.id)
    shift(p, 31)
    local.renew_due()
    assert sub_of(p, bob, membership)["status"] == "ended"
    with p.services.db.session() as session:
        assert not is_member(session, alice.id, bob.id)
    # a new membership, cancelled at period end, keeps access until then and does not renew
    again = join(p, bob, sub_of(p, bob, membership)["plan"]["id"])
    r = p.client.delete(f"/api/v1/subscriptions/{again}", headers=bob.headers)
    assert (
        r.status_code == 200 and r.json()["cancel_at_period_end"] is True and r.json()["status"] == "active"
    )
    shift(p, 31)
    local.renew_due()
    assert sub_of(p, bob, again)["status"] == "ended"
    assert p.client.get("/api/v1/users/me/balance", headers=alice.headers).json()["usd"]["pending"] == 1050
    ledger_ok(p)


def test_plan_change_is_pro_rated(platform_on: Callable[..., Platform]) -> None:
    p = platform_on()
    alice, bob = member(p, "alice"), member(p, "bob")
    gold, platinum = plan(p, alice, 500), plan(p, alice, 1500, "Platinum")
    membership = join(p, bob, gold)
    r = p.client.patch(f"/api/v1/subscriptions/{membership}", json={"plan_id": platinum}, headers=bob.headers)
    assert r.status_code == 200, r.text
    assert sub_of(p, bob, membership)["plan"]["id"] == platinum
    with p.services.db.session() as session:
        amounts = sorted(c.amount for c in session.execute(sa.select(Charge)).scalars())
    assert amounts[0] == 500 and 995 <= amounts[1] <= 1000  # 1000 × (nearly the whole period left)
    other = plan(p, member(p, "carol"), 700)
    r = p.client.patch(f"/api/v1/subscriptions/{membership}", json={"plan_id": other}, headers=bob.headers)
    assert r.status_code == 404  # another channel's plan
    ledger_ok(p)


def test_tip_reaches_the_creator_and_refund_reverses_it(platform_on: Callable[..., Platform]) -> None:
    p = platform_on()
    tips: list[TipReceived] = []
    p.services.events.subscribe(TipReceived, tips.append)
    alice, bob = member(p, "alice"), member(p, "bob")
    r = p.client.post(
        "/api/v1/tips",
        json={"to": "alice", "amount": 1000, "currency": "EUR", "message": "great video"},
        headers=bob.headers,
    )
    assert r.status_code == 201, r.text
    secret = r.json()["client_secret"]
    ref = secret.split("_secret_")[0]
    wrong = p.client.post(
        f"/api/v1/payments/local/intents/{ref}/confirm", json={"client_secret": ref + "_secret_x"}
    )
    assert wrong.status_code == 404 and not tips
    ok = p.client.post(f"/api/v1/payments/local/intents/{ref}/confirm", json={"client_secret": secret})
    assert ok.json() == {"status": "succeeded"}
    assert [(t.creator_id, t.payer_id, t.amount, t.currency, t.message) for t in tips] == [
        (alice.id, bob.id, 1000, "eur", "great video")
    ]
    assert p.client.get("/api/v1/users/me/balance", headers=alice.headers).json() == {
        "eur": {"available": 0, "pending": 700}
    }
    with p.services.db.session() as session:
        charge = session.execute(sa.select(Charge)).scalar_one()
    local = p.services.payments.local
    assert local is not None
    local.refund(charge.id, 400, amount=1000, currency="eur")
    local.refund(charge.id, 400, amount=1000, currency="eur")  # the same refund reported twice
    assert p.client.get("/api/v1/users/me/balance", headers=alice.headers).json()["eur"]["pending"] == 420
    # bounds: no tip to yourself, no unknown currency, no amount under the minimum
    for body, status in (
        ({"to": "bob", "amount": 500, "currency": "usd"}, 403),
        ({"to": "alice", "amount": 500, "currency": "xyz"}, 422),
        ({"to": "alice", "amount": 10, "currency": "usd"}, 422),
        ({"to": "alice", "amount": 500.5, "currency": "usd"}, 422),
        ({"to": "nobody", "amount": 500, "currency": "usd"}, 404),
    ):
        assert p.client.post("/api/v1/tips", json=body, headers=bob.headers).status_code == status, body
    ledger_ok(p)


def test_payouts_by_watch_time_with_monetize_claims(platform_on: Callable[..., Platform]) -> None:
    p = platform_on(payments_payout_minimum=100)
    alice, bob, label, fan = member(p, "alice"), member(p, "bob"), member(p, "label"), member(p, "fan")
    join(p, fan, plan(p, alice, 10_000))  # pool: 10000 × 30 % × 50 % = 1500
    a_video, b_video, song = ready_video(p, alice), ready_video(p, bob), ready_video(p, label)
    month = previous_month()
    day = datetime.strptime(month + "-15", "%Y-%m-%d").date()
    with p.services.db.session() as session:
        RecordedWatchTime.record(session, a_video, 600, day)
        RecordedWatchTime.record(session, b_video, 300, day)
        reference = Reference(video_id=song, owner_id=label.id, policy="monetize", status="active")
        session.add(reference)
        session.flush()
        session.add(
            Claim(
                video_id=b_video,
                reference_id=reference.id,
                kind="audio",
                query_start=0,
                reference_start=0,
                duration=30,
                score=0.9,
                policy="monetize",
            )
        )
    for who in (alice, bob, label):
        link = p.client.post("/api/v1/users/me/payouts/onboarding", headers=who.headers).json()["url"]
        assert p.client.post(path_of(link)).json() == {"status": "enabled"}
    shift(p, 8)  # past the hold: alice's 7000 becomes available
    first = payouts_on_a_worker(p, month)  # its PayoutSent events are heard on the worker's hub
    assert first["shared"] == {"usd": 1500}
    again = p.services.payments.payouts.run(month)
    assert again["shared"] == {} and again["paid"] == 0  # idempotent per creator and month
    payouts = {
        who.username: p.client.get("/api/v1/users/me/payouts", headers=who.headers).json()["items"]
        for who in (alice, bob, label)
    }
    assert [(x["amount"], x["status"]) for x in payouts["alice"]] == [(7000 + 1000, "paid")]
    assert payouts["bob"] == []  # the claim took his video's share
    assert [(x["amount"], x["status"]) for x in payouts["label"]] == [(500, "paid")]
    drain(p)  # each paid creator hears of it, once: the second run paid no one
    told = [n for n in inbox(p, alice.headers) if n["type"] == "payout"]
    assert [n["data"] for n in told] == [{"amount": 8000, "currency": "usd", "month": month}]
    assert "payout" not in [n["type"] for n in inbox(p, bob.headers)]
    statement = p.client.get(f"/api/v1/users/me/earnings?month={month}", headers=label.headers).json()
    assert statement["watch"] == [
        {"video_id": b_video, "currency": "usd", "watch_seconds": 300, "amount": 500, "source": "claim"}
    ]
    text = p.client.get(f"/api/v1/users/me/earnings?month={month}&format=csv", headers=label.headers)
    assert text.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(text.text)))
    assert rows[0][:3] == ["date", "kind", "account"] and any(r[1] == "watch:claim" for r in rows)
    assert p.client.get("/api/v1/users/me/earnings?month=2026-13", headers=label.headers).status_code == 422
    ledger_ok(p)


def test_money_is_private(platform_on: Callable[..., Platform]) -> None:
    p = platform_on()
    alice, bob = member(p, "alice"), member(p, "bob")
    membership = join(p, bob, plan(p, alice))
    assert p.client.delete(f"/api/v1/subscriptions/{membership}", headers=alice.headers).status_code == 404
    assert p.client.get("/api/v1/users/me/balance", headers=bob.headers).json() == {}
    assert p.client.get("/api/v1/users/me/ledger", headers=bob.headers).json()["items"] == []
    assert p.client.get("/api/v1/admin/payments/report", headers=alice.headers).status_code == 403
    admin = member(p, "root", role="admin")
    report = p.client.get("/api/v1/admin/payments/report", headers=admin.headers).json()
    assert report["ok"] is True and report["platform"]["external:provider"] == {"usd": -500}
    # a blocked viewer finds neither the channel's plans nor can pay it
    p.client.put("/api/v1/users/bob/block", headers=alice.headers)
    assert p.client.get("/api/v1/users/alice/plans", headers=bob.headers).status_code == 404
    assert (
        p.client.post(
            "/api/v1/tips", json={"to": "alice", "amount": 500, "currency": "usd"}, headers=bob.headers
        ).status_code
        == 404
    )


def test_plan_bounds(platform: Platform) -> None:
    alice = member(platform, "alice")
    for field, bad in (
        ("amount", 0),
        ("amount", 10),
        ("amount", 10**9),
        ("currency", "xyz"),
        ("interval", "week"),
    ):
        body = {"name": "Gold", "amount": 500, "currency": "usd", "interval": "month", field: bad}
        r = platform.client.post("/api/v1/creators/me/plans", json=body, headers=alice.headers)
        assert r.status_code == 422, (field, bad)
    assert platform.client.get("/api/v1/users/alice/plans").json()["items"] == []


def payouts_on_a_worker(platform: Platform, month: str) -> dict:
    """``payouts.run`` for ``month`` as the scheduler runs it: a job, on the workers; its result."""
    from control_plane.jobs.models import Job

    job = platform.services.jobs.enqueue("payouts.run", args={"month": month})
    deadline = time.monotonic() + 30
    while True:
        with platform.services.db.session() as session:
            row = session.get(Job, job.id)
            assert row is not None
            if row.status in ("succeeded", "failed") or time.monotonic() > deadline:
                break
        time.sleep(0.05)
    assert row.status == "succeeded", row.error if hasattr(row, "error") else row
    return dict(row.result)


def test_payouts_job_runs_on_the_workers(platform: Platform) -> None:
    result = payouts_on_a_worker(platform, "2026-11")
    assert result == {"month": "2026-11", "released": 0, "shared": {}, "paid": 0, "failed": 0}


def test_payments_url_needs_its_key_and_secret_and_hides_them(tmp_path: Path) -> None:
    from control_plane.core.settings import ConfigError, load_settings

    key, secret = "sk_live_very_secret_key_1234", "whsec_very_secret_signing_5678"
    for url in (
        f"stripe://?api_key={key}",
        f"stripe://?webhook_secret={secret}",
        f"stripe://?api_key=pk_live_public&webhook_secret={secret}",
        "paypal://?x=1",
    ):
        with pytest.raises(ConfigError) as refused:
            load_settings(data_dir=tmp_path, payments_url=url)
        assert key not in str(refused.value) and secret not in str(refused.value)
    settings = load_settings(
        data_dir=tmp_path, payments_url=f"stripe://?api_key={key}&webhook_secret={secret}"
    )
    assert key not in repr(settings) and secret not in repr(settings) and key not in str(settings)
    assert load_settings(data_dir=tmp_path, payments_url="local://").payments_url is not None
