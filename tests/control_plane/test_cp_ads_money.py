"""Ad money on the payments ledger, on both backends: advertisers prepay through the provider (a
replayed webhook credits once), spend flushed from the counters moves from the advertiser's
balance to the creator (55 %), a monetizing claimant and the platform to the cent, a batch is
booked once, an empty balance stops serving (across two API processes on one Redis), the
``members`` audience is answered by payments, and the reports read the ledger."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import redis
import sqlalchemy as sa
from support.ads import advertiser, campaign, fund, ping, ready_creative, refresh, served, tracking, vast
from support.ads import watched_video as video_of
from support.backends import REDIS_DB
from support.payments import deliver
from support.platform import Platform, production
from support.social import Member, member

from control_plane.ads.models import AdDailyStats
from control_plane.contentid.models import Claim, Reference
from control_plane.payments.advertising import ADS
from control_plane.payments.advertising import advertiser as advertiser_account
from control_plane.payments.ledger import LOSSES, Ledger, available
from control_plane.payments.models import Charge, ProviderEvent

PRICE = 20_000  # the reserve and the bid: 20 cents an impression


def balances(p: Platform, *accounts: str) -> list[int]:
    with p.services.db.session() as session:
        return [Ledger.balance(session, account, "usd") for account in accounts]


def ledger_ok(p: Platform) -> None:
    with p.services.db.session() as session:
        check = Ledger.check(session)
    assert check.ok, check


def claim(p: Platform, video_id: str, holder: Member) -> None:
    """A standing Content-ID ``monetize`` claim of ``holder`` on the video."""
    reference_video = video_of(p, holder)
    with p.services.db.session() as session:
        reference = Reference(
            video_id=reference_video, owner_id=holder.id, policy="monetize", status="active"
        )
        session.add(reference)
        session.flush()
        session.add(
            Claim(
                video_id=video_id,
                reference_id=reference.id,
                kind="audio",
                query_start=0,
                reference_start=0,
                duration=30,
                score=0.9,
                policy="monetize",
                status="active",
            )
        )


def impressions(p: Platform, video_id: str, n: int, tag: str) -> None:
    """``n`` viewers each see an ad before the video, and their players count its impression."""
    for i in range(n):
        root = vast(p, video_id, ua=f"{tag}-{i}")
        assert served(root) is not None, (tag, i)
        assert ping(p, tracking(root)["impression"]) == "counted"


def test_prepay_serve_flush_moves_the_money_exactly(platform_on: Callable[..., Platform]) -> None:
    p = platform_on(ads_reserve_cpm=PRICE)
    adv = advertiser(p, "payer", funds=0)
    creator, holder = member(p, "maker"), member(p, "rightsholder")
    camp = campaign(p, adv, cpm_bid=PRICE, budget=100_000)
    ready_creative(p, camp, adv), ready_creative(p, camp, adv)
    plain, claimed = video_of(p, creator), video_of(p, creator)
    claim(p, claimed, holder)
    refresh(p)
    assert served(vast(p, plain)) is None  # no balance: the campaign does not serve

    # Prepay one euro... dollar: 100 cents through the local provider, confirmed by its webhook.
    fund(p, adv.headers, 100)
    assert p.client.get("/api/v1/ads/funds", headers=adv.headers).json() == {
        "currency": "usd",
        "balance": 100,
    }
    with p.services.db.session() as session:
        paid = session.scalars(
            sa.select(ProviderEvent).where(ProviderEvent.type == "payment_intent.succeeded")
        ).one()
        payload = dict(paid.payload)
    secret = p.services.payments.local.secret  # type: ignore[union-attr]
    assert deliver(p.client, payload, secret).json()["status"] == "duplicate"  # the same event again
    other = deliver(p.client, {**payload, "id": "evt_same_charge_other_event"}, secret)
    assert other.status_code == 200, other.text  # another event about the same charge: booked once
    assert balances(p, advertiser_account(adv.id)) == [100]
    r = p.client.post("/api/v1/ads/funds", headers=adv.headers, json={"amount": 10})
    assert r.status_code == 422  # below the provider's smallest charge
    assert (
        p.client.post("/api/v1/ads/funds", headers=creator.headers, json={"amount": 500}).status_code == 403
    )

    # Five impressions at 20 cents spend the 100 cents: three before the plain video, two before
    # the claimed one. The next decision serves nothing, before any flush.
    refresh(p)
    impressions(p, plain, 3, "plain")
    impressions(p, claimed, 2, "claimed")
    assert served(vast(p, plain, ua="one-too-many")) is None
    p.services.ads.flush(p.services.ad_counters)

    # The advertiser paid 100; the creator got 55 % of the plain video's 60 (33), the claimant
    # 55 % of the claimed video's 40 (22), the platform the rest (27 + 18).
    accounts = (advertiser_account(adv.id), available(creator.id), available(holder.id), ADS, LOSSES)
    assert balances(p, *accounts) == [0, 33, 22, 45, 0]
    ledger_ok(p)
    assert p.client.get("/api/v1/users/me/balance", headers=creator.headers).json() == {
        "usd": {"available": 33, "pending": 0}
    }
    month = datetime.now(UTC).strftime("%Y-%m")
    statement = p.client.get(f"/api/v1/users/me/earnings?month={month}", headers=creator.headers).json()
    assert statement["totals"] == {"usd": {"ads": 33}}
    analytics = p.client.get("/api/v1/users/me/analytics", headers=creator.headers).json()
    assert analytics["revenue"] == [{"currency": "usd", "total": 33, "by_kind": {"ads": 33}}]
    assert p.client.get("/api/v1/ads/earnings", headers=creator.headers).json() == {
        "totals": {"USD": 33},
        "videos": [{"video_id": plain, "role": "creator", "currency": "USD", "amount": 33}],
    }
    assert p.client.get("/api/v1/ads/earnings", headers=holder.headers).json()["videos"] == [
        {"video_id": claimed, "role": "claimant", "currency": "USD", "amount": 22}
    ]
    admin = p.user("moneyadmin", role="admin")
    platform_report = p.client.get("/api/v1/admin/payments/report", headers=admin).json()
    assert platform_report["ok"] and platform_report["platform"][ADS] == {"usd": 45}
    assert platform_report["platform"]["advertisers"] == {"usd": 0}
    report = p.client.get(f"/api/v1/ads/campaigns/{camp}/report", headers=adv.headers).json()
    assert report["charged"] == 100 and report["totals"]["spent"] == 100
    assert report["totals"]["impressions"] == 5

    # A top-up serves again once the index has read it.
    fund(p, adv.headers, 60)
    refresh(p)
    impressions(p, plain, 1, "after-top-up")
    p.services.ads.flush(p.services.ad_counters)
    assert balances(p, advertiser_account(adv.id), available(creator.id)) == [40, 44]
    ledger_ok(p)


def test_a_batch_is_booked_once(platform_on: Callable[..., Platform]) -> None:
    p = platform_on(ads_reserve_cpm=PRICE)
    adv, creator = advertiser(p, "oncer", funds=1000), member(p, "once")
    camp = campaign(p, adv, cpm_bid=PRICE)
    video_id = video_of(p, creator)
    day = datetime.now(UTC).date()
    counts = {"impression": 3, "spent": 3 * PRICE, f"v:{video_id}": 3 * PRICE}
    assert p.services.ads.write(camp, day, counts, batch="batch-1") is True
    assert p.services.ads.write(camp, day, counts, batch="batch-1") is False  # the same flush again
    assert balances(p, advertiser_account(adv.id), available(creator.id), ADS) == [940, 33, 27]
    with p.services.db.session() as session:
        assert session.get(AdDailyStats, (camp, day)).impressions == 3  # type: ignore[union-attr]
    # Fractions of a cent are carried in the campaign's running total, never lost or made up.
    for i in range(3):
        p.services.ads.write(camp, day, {"spent": 400, f"v:{video_id}": 400}, batch=f"small-{i}")
    assert balances(p, advertiser_account(adv.id)) == [939]  # 1,200 millis so far: one cent
    ledger_ok(p)


def test_a_flush_that_dies_is_taken_again_and_books_once(platform_on: Callable[..., Platform]) -> None:
    p = platform_on(ads_reserve_cpm=PRICE)
    adv, creator = advertiser(p, "crashy", funds=1000), member(p, "crashcre")
    camp = campaign(p, adv, cpm_bid=PRICE)
    ready_creative(p, camp, adv), ready_creative(p, camp, adv)
    video_id = video_of(p, creator)
    refresh(p)
    counters, ads = p.services.ad_counters, p.services.ads
    impressions(p, video_id, 2, "crash")
    (taken,) = counters.drain()  # a flush takes the batch, writes it, and dies before its ack
    assert ads.write(camp, date.fromisoformat(taken.day), taken.counts, batch=taken.id)
    impressions(p, video_id, 1, "crash-more")
    assert ads.flush(counters) == 1  # the new counts; the dead flush's batch is not stale yet
    counters.stale_ms = 0
    time.sleep(0.01)
    assert ads.flush(counters) == 1  # taken again under its id: written already, nothing moves
    assert balances(p, advertiser_account(adv.id), available(creator.id), ADS) == [940, 33, 27]
    with p.services.db.session() as session:
        assert session.get(AdDailyStats, (camp, date.fromisoformat(taken.day))).impressions == 3  # type: ignore[union-attr]
    impressions(p, video_id, 1, "crash-last")
    (lost,) = counters.drain()  # a flush takes it and dies before writing: the next one writes it
    time.sleep(0.01)
    assert ads.flush(counters) == 1
    assert balances(p, advertiser_account(adv.id)) == [920]
    assert ads.flush(counters) == 0 and lost.id
    ledger_ok(p)


def test_refunded_deposit_leaves_the_balance_and_the_ledger_square(
    platform_on: Callable[..., Platform],
) -> None:
    p = platform_on(ads_reserve_cpm=PRICE)
    adv, creator = advertiser(p, "refunded", funds=100), member(p, "refcre")
    camp = campaign(p, adv, cpm_bid=PRICE)
    ready_creative(p, camp, adv), ready_creative(p, camp, adv)
    video_id = video_of(p, creator)
    refresh(p)
    impressions(p, video_id, 3, "refund")
    p.services.ads.flush(p.services.ad_counters)
    with p.services.db.session() as session:
        charge = session.scalars(sa.select(Charge).where(Charge.kind == "ad_deposit")).one()
    local = p.services.payments.local
    assert local is not None
    local.refund(charge.id, 100, amount=100, currency="usd")  # all of it, after 60 was spent
    assert balances(p, advertiser_account(adv.id), LOSSES) == [0, -60]
    ledger_ok(p)
    refresh(p)
    assert served(vast(p, video_id, ua="after-refund")) is None


def test_members_audience_comes_from_payments(platform_on: Callable[..., Platform]) -> None:
    p = platform_on()
    adv, creator, fan, stranger = (
        advertiser(p, "memb"),
        member(p, "channel"),
        member(p, "fanatic"),
        member(p, "stranger"),
    )
    members_only = campaign(p, adv, targeting={"audiences": ["members"]})
    ad = ready_creative(p, members_only, adv)
    video_id = video_of(p, creator)
    r = p.client.post(
        "/api/v1/creators/me/plans",
        json={"name": "Gold", "amount": 500, "currency": "usd", "interval": "month"},
        headers=creator.headers,
    )
    assert r.status_code == 201, r.text
    r = p.client.post("/api/v1/subscriptions", json={"plan_id": r.json()["id"]}, headers=fan.headers)
    checkout = "/" + r.json()["checkout_url"].split("://", 1)[1].split("/", 1)[1]
    assert p.client.post(checkout).json() == {"status": "complete"}
    refresh(p)
    assert served(vast(p, video_id, fan.headers)) == ad
    assert served(vast(p, video_id, stranger.headers)) is None


# -- two API processes on one Redis --------------------------------------------------------------


@pytest.fixture
def twins(
    tmp_path: Path, platform_factory: Callable[..., Platform], postgres_url: str, redis_url: str
) -> tuple[Platform, Platform]:
    own = f"{redis_url.rsplit('/', 1)[0]}/{REDIS_DB}"
    redis.Redis.from_url(own).flushdb()
    settings = production(
        tmp_path,
        database_url=postgres_url,
        broker_url="",
        storage_url=f"file://{tmp_path / 'blobs'}",
        redis_url=own,
        ads_reserve_cpm=10_000,
    )
    first = platform_factory(settings, inprocess_workers=False)
    second = platform_factory(
        settings.model_copy(update={"secret_key": settings.secret_key}), inprocess_workers=False
    )
    return first, second


def test_an_empty_balance_stops_serving_across_two_api_processes(twins: tuple[Platform, Platform]) -> None:
    one, two = twins
    adv, creator = advertiser(one, "twinpay", funds=50), member(one, "twinmaker")  # 5 impressions' worth
    camp = campaign(one, adv, cpm_bid=10_000, budget=100_000)
    ready_creative(one, camp, adv)
    video_id = video_of(one, creator)
    for p in (one, two):
        refresh(p)

    def ask(i: int, ua: str) -> Any:
        r = (one, two)[i % 2].client.get(
            "/api/v1/ads/vast", params={"video_id": video_id}, headers={"User-Agent": ua}
        )
        assert r.status_code == 200, r.text
        return ET.fromstring(r.content)

    with ThreadPoolExecutor(8) as pool:
        roots = list(pool.map(lambda i: ask(i, f"viewer-{i}"), range(20)))
    beacons = [tracking(root)["impression"] for root in roots if served(root) is not None]
    assert len(beacons) == 20

    def count(i_path: tuple[int, str]) -> str:
        r = (one, two)[i_path[0] % 2].client.get(i_path[1])
        assert r.status_code == 204
        return str(r.headers["ad-beacon"])

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(count, enumerate(beacons)))
    assert outcomes.count("counted") == 5 and outcomes.count("unpaid") == 15
    assert served(ask(0, "late-1")) is None and served(ask(1, "late-2")) is None  # no refresh needed
    one.services.ads.flush(one.services.ad_counters)
    two.services.ads.flush(two.services.ad_counters)  # the second process finds nothing left to book
    assert balances(one, advertiser_account(adv.id), available(creator.id), ADS) == [0, 27, 23]
    ledger_ok(one)
