"""The ad decision's parts on their own: the auction (hypothesis), the bit-mask index against a
plain filter, the counters' atomic steps on both implementations, beacon signatures, and the
device and country of a viewer."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from control_plane.ads.auction import Bid, second_price
from control_plane.ads.beacons import Beacon, BeaconSigner
from control_plane.ads.counters import AdCounters, Admission, MemoryAdCounters, RedisAdCounters
from control_plane.ads.errors import BeaconInvalid
from control_plane.ads.index import CampaignEntry, CreativeEntry, DecisionIndex, Pacer, Request
from control_plane.ads.server import known
from control_plane.ads.viewers import device_of
from control_plane.core.geo import GeoLookup

bids = st.lists(st.tuples(st.integers(1, 5000), st.booleans()), max_size=30)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(offers=bids, reserve=st.integers(1, 3000))
def test_the_winner_pays_between_the_reserve_and_its_bid_and_only_the_eligible_win(
    offers: list[tuple[int, bool]], reserve: int
) -> None:
    ranked = [Bid(ecpm, (i, ok)) for i, (ecpm, ok) in enumerate(sorted(offers, key=lambda o: -o[0]))]
    asked: list[int] = []

    def admit(bid: Bid[tuple[int, bool]]) -> bool:
        asked.append(bid.item[0])
        return bid.item[1]

    outcome = second_price(iter(ranked), reserve, admit, lambda b: b.item[1])
    eligible = [b for b in ranked if b.item[1] and b.ecpm >= reserve]
    if not eligible:
        assert outcome is None
        return
    assert outcome is not None
    assert outcome.winner.item[1], "an ineligible campaign won"
    assert outcome.winner.ecpm == max(b.ecpm for b in eligible)
    assert reserve <= outcome.price <= outcome.winner.ecpm
    expected = max(reserve, eligible[1].ecpm) if len(eligible) > 1 else reserve
    assert outcome.price == expected
    assert asked.count(outcome.winner.item[0]) == 1  # the winner's slot is taken once


def entry(i: int, rng: random.Random) -> CampaignEntry:
    def some(values: tuple[str, ...]) -> frozenset[str]:
        return frozenset(rng.sample(values, rng.randint(0, 2))) if rng.random() < 0.5 else frozenset()

    low = rng.choice([None, 18, 25, 35])
    return CampaignEntry(
        id=f"c{i}",
        advertiser_id=f"adv{i % 7}",
        advertiser="adv",
        name="n",
        ecpm=rng.randint(50, 2000),
        budget_millis=10**9,
        daily_millis=None,
        cap=None,
        period_s=0,
        starts_at=0.0,
        ends_at=None if rng.random() < 0.8 else rng.choice([10.0, 10**12]),
        countries=some(("GB", "US", "FR", "DE")),
        devices=some(("mobile", "tablet", "tv", "desktop")),
        audiences=some(("free", "members", "creators")),
        interests=some(("music", "news", "sports", "food")),
        age_min=low,
        age_max=None if low is None else low + rng.choice([5, 20, 60]),
        excluded=some(("news", "kids")),
        creatives=(
            CreativeEntry(f"k{i}", "v", "https://x", 5.0, "master.m3u8", "ad/creative.mp4", 320, 180),
        ),
    )


def plain_filter(e: CampaignEntry, r: Request, now: float) -> bool:
    """The straightforward reading of a campaign's rules, to hold the index to."""
    return (
        (not e.countries or r.country in e.countries)
        and (not e.devices or r.device in e.devices)
        and (not e.audiences or bool(e.audiences & r.audiences))
        and (not e.interests or bool(e.interests & r.interests))
        and (
            (e.age_min is None and e.age_max is None)
            or (
                r.age is not None
                and (e.age_min or 0) <= r.age <= (e.age_max if e.age_max is not None else 999)
            )
        )
        and (r.category is None or r.category not in e.excluded)
        and e.starts_at <= now
        and (e.ends_at is None or e.ends_at > now)
        and e.advertiser_id not in r.hidden
    )


@settings(max_examples=60, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10**6))
def test_the_index_finds_exactly_what_the_plain_filter_finds_best_first(seed: int) -> None:
    rng = random.Random(seed)
    campaigns = [entry(i, rng) for i in range(rng.randint(0, 80))]
    index = DecisionIndex.build(campaigns, rng)
    for _ in range(5):
        request = Request(
            country=rng.choice([None, "GB", "US", "FR"]),
            device=rng.choice(["mobile", "tablet", "tv", "desktop"]),
            audiences=frozenset(rng.sample(["free", "members", "creators"], rng.randint(1, 2))),
            interests=frozenset(rng.sample(["music", "news", "sports", "food"], rng.randint(0, 2))),
            age=rng.choice([None, 16, 22, 40, 70]),
            category=rng.choice([None, "news", "kids", "music"]),
            hidden=frozenset(rng.sample([f"adv{i}" for i in range(7)], rng.randint(0, 2))),
        )
        now = 100.0
        found = list(index.candidates(request, now))
        assert {e.id for e in found} == {e.id for e in campaigns if plain_filter(e, request, now)}
        assert [e.ecpm for e in found] == sorted((e.ecpm for e in found), reverse=True)


def test_pacing_throttles_a_campaign_ahead_of_its_daily_plan_and_lets_one_behind_run() -> None:
    rng = random.Random(1)
    ahead, behind = entry(1, rng), entry(2, rng)
    ahead = CampaignEntry(**{**ahead.__dict__, "daily_millis": 100_000})
    behind = CampaignEntry(**{**behind.__dict__, "daily_millis": 100_000})
    pacer = Pacer()
    noon = 86_400 * 20_000 + 43_200  # half the day gone: the plan so far is 50 000 millis
    for _ in range(5):
        pacer.update([ahead, behind], {}, {ahead.id: 90_000, behind.id: 10_000}, noon)
    assert pacer.throttle[ahead.id] < 0.2 and pacer.throttle[behind.id] == 1.0
    keep = pacer.keep(random.Random(2).random)
    shown = sum(keep(ahead) for _ in range(1000))
    assert 20 < shown < 300 and all(keep(behind) for _ in range(100))


@pytest.fixture(params=["memory", "redis"])
def counters(request: pytest.FixtureRequest) -> Iterator[AdCounters]:
    if request.param == "memory":
        yield MemoryAdCounters()
        return
    import redis
    from support.backends import REDIS_DB

    url = f"{request.getfixturevalue('redis_url').rsplit('/', 1)[0]}/{REDIS_DB}"
    redis.Redis.from_url(url).flushdb()
    made = RedisAdCounters(url)
    yield made
    made.close()


def test_counters_admit_within_caps_and_budget_and_count_each_beacon_once(counters: AdCounters) -> None:
    a = Admission("camp", budget_millis=2500, daily_millis=None, cap=2, period_ms=60_000, bound=1000)
    now = int(time.time() * 1000)
    assert counters.admit(a, "v1", day="2026-12-07", now_ms=now, take="s1", creative="k1")
    assert counters.last_ad("v1") == "k1"
    assert counters.admit(a, "v1", day="2026-12-07", now_ms=now + 1)  # a look takes no slot
    assert counters.admit(a, "v1", day="2026-12-07", now_ms=now + 2, take="s2", creative="k2")
    assert not counters.admit(a, "v1", day="2026-12-07", now_ms=now + 3, take="s3", creative="k1")
    assert counters.admit(
        a, "v1", day="2026-12-07", now_ms=now + 60_001, take="s4", creative="k1"
    )  # window slid
    assert counters.admit(a, "v2", day="2026-12-07", now_ms=now, take="s5", creative="k1")
    kw = {"video": "vid", "day": "2026-12-07", "ttl_ms": 60_000}
    assert counters.event("s1", "camp", "start", day="2026-12-07", ttl_ms=60_000) == -1
    assert counters.impression("s1", a, price=1000, **kw) == 2
    assert counters.impression("s1", a, price=1000, **kw) == 0
    assert counters.event("s1", "camp", "firstQuartile", day="2026-12-07", ttl_ms=60_000) == -1
    assert counters.event("s1", "camp", "start", day="2026-12-07", ttl_ms=60_000) == 1
    assert counters.event("s1", "camp", "start", day="2026-12-07", ttl_ms=60_000) == 0
    assert counters.impression("s2", a, price=1000, **kw) == 2
    assert not counters.admit(a, "v3", day="2026-12-07", now_ms=now)  # 2000 + a bid of 1000 > 2500
    assert counters.impression("s5", a, price=1000, **kw) == 1  # counted, never charged past the budget
    total, today = counters.spent("2026-12-07")
    assert total == {"camp": 2000} and today == {"camp": 2000}
    drained = counters.drain()
    assert [b[:3] for b in drained] == [
        ("camp", "2026-12-07", {"impression": 3, "spent": 2000, "v:vid": 2000, "start": 1})
    ]
    counters.ack(drained[0])
    assert counters.drain() == []
    counters.restore("camp", "2026-12-07", {"impression": 3})
    again = counters.drain()
    assert [b[:3] for b in again] == [("camp", "2026-12-07", {"impression": 3})]
    counters.ack(again[0])
    counters.seed({"camp": 1, "other": 700})
    assert counters.spent("x")[0] == {"camp": 2000, "other": 700}


def test_beacons_are_signed_per_event_and_expire() -> None:
    signer = BeaconSigner(b"k" * 32)
    beacon = Beacon("ab12", "cd34", "ef56", "0a0b", 750, int(time.time()) + 60)
    token = signer.sign("start", beacon)
    assert signer.verify("start", token) == beacon
    for event, forged in (
        ("complete", token),
        ("start", token.replace(".750.", ".1.")),
        ("start", token[:-2] + "xx"),
        ("start", "nonsense"),
    ):
        with pytest.raises(BeaconInvalid):
            signer.verify(event, forged)
    with pytest.raises(BeaconInvalid) as caught:
        signer.verify("start", token, now=time.time() + 120)
    assert caught.value.code == "AD_BEACON_EXPIRED"
    assert BeaconSigner(b"other" * 8).sign("start", beacon) != token


@pytest.mark.parametrize(
    ("ua", "device"),
    [
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148", "mobile"),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/130 Mobile Safari/537.36",
            "mobile",
        ),
        ("Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 Chrome/130 Safari/537.36", "tablet"),
        ("Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15", "tablet"),
        ("Mozilla/5.0 (SMART-TV; Linux; Tizen 7.0) AppleWebKit/537.36 SamsungBrowser/4.0 TV Safari", "tv"),
        ("Roku/DVP-13.0 (13.0.0.4158-46)", "tv"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/130 Safari/537.36", "desktop"),
        ("", "desktop"),
    ],
)
def test_device_classes(ua: str, device: str) -> None:
    assert device_of(ua) == device


def test_countries_from_the_packaged_maxmind_database() -> None:
    geo = GeoLookup()
    assert geo.path is not None, "maxminddb-geolite2 is a dependency"
    try:
        assert known(geo.country("81.2.69.160")) == "GB"
        assert known(geo.country("8.8.8.8")) == "US"
        assert known(geo.country("127.0.0.1")) is None and known(geo.country("10.1.2.3")) is None
        assert known(geo.country("not an address")) is None
    finally:
        geo.close()


def test_facts_caches_answer_stale_values_while_one_reload_runs() -> None:
    import threading

    from control_plane.ads.server import TTLCache

    cache: TTLCache[str, int] = TTLCache(ttl=0.05)
    loads: list[int] = []
    release = threading.Event()

    def load() -> int:
        loads.append(1)
        if len(loads) > 1:
            release.wait(5)
        return len(loads)

    assert cache.get("k", load) == 1  # the first load is in line
    time.sleep(0.06)
    assert cache.get("k", load) == 1 and cache.get("k", load) == 1  # stale, while one reload runs
    release.set()
    deadline = time.monotonic() + 5
    while cache.get("k", load) != 2:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert len(loads) == 2
    cache.close()


def test_counters_hold_an_advertisers_campaigns_to_its_funds(counters: AdCounters) -> None:
    """Two campaigns of one advertiser share its funds: 2,500 millis pay two impressions of 1,000,
    whichever campaign serves them; another advertiser is not touched."""
    day, now = "2026-12-07", int(time.time() * 1000)
    one, two = (
        Admission(
            c,
            budget_millis=10_000,
            daily_millis=None,
            cap=None,
            period_ms=0,
            bound=1000,
            account="adv",
            funds_millis=2500,
        )
        for c in ("c1", "c2")
    )
    rich = Admission(
        "c3",
        budget_millis=10_000,
        daily_millis=None,
        cap=None,
        period_ms=0,
        bound=1000,
        account="rich",
        funds_millis=10_000,
    )
    kw = {"video": "vid", "day": day, "ttl_ms": 60_000}
    assert counters.admit(one, "v", day=day, now_ms=now) and counters.admit(two, "v", day=day, now_ms=now)
    assert counters.impression("s1", one, price=1000, **kw) == 2
    assert counters.impression("s2", two, price=1000, **kw) == 2
    assert not counters.admit(one, "v", day=day, now_ms=now)  # 2000 + a bid of 1000 > 2500
    assert not counters.admit(two, "v", day=day, now_ms=now)
    assert counters.impression("s3", two, price=400, **kw) == 2  # a cheaper one still fits
    assert counters.impression("s4", one, price=400, **kw) == 1  # counted, never charged past the funds
    assert counters.admit(rich, "v", day=day, now_ms=now)
    assert counters.accounts() == {"adv": 2400}
    assert counters.spent(day)[0] == {"c1": 1000, "c2": 1400}
    counters.seed({}, {"adv": 1, "lost": 900})
    assert counters.accounts() == {"adv": 2400, "lost": 900}


def test_a_batch_stays_in_flight_until_acknowledged(counters: AdCounters) -> None:
    """A flush that dies after draining loses nothing: once stale, its batch is drained again under
    the same id (so the database can recognise it), until it is acknowledged."""
    a = Admission("camp", budget_millis=10_000, daily_millis=None, cap=None, period_ms=0, bound=1000)
    assert counters.impression("s1", a, price=700, video="vid", day="2026-12-07", ttl_ms=60_000) == 2
    (taken,) = counters.drain()
    assert counters.drain() == []  # in flight, not stale yet
    counters.stale_ms = 0
    time.sleep(0.01)
    (again,) = counters.drain()
    assert again == taken  # the same batch, the same id
    assert counters.impression("s2", a, price=300, video="vid", day="2026-12-07", ttl_ms=60_000) == 2
    counters.ack(again)
    time.sleep(0.01)
    (fresh,) = counters.drain()  # only what came after: the acknowledged batch is gone
    assert fresh.id != taken.id and fresh.counts == {"impression": 1, "spent": 300, "v:vid": 300}
    counters.ack(fresh)
    time.sleep(0.01)
    assert counters.drain() == []
