"""The ads domain on both backends: campaign rules, the decision (targeting, brand safety, caps,
the last ad, budgets), VAST against the IAB schema, single-use beacons in order, the flush and the
reports, and the creator's share."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from support.ads import (
    PHONE,
    advertiser,
    campaign,
    ping,
    ready_creative,
    refresh,
    served,
    tracking,
    vast,
    watched_video,
)
from support.platform import Platform
from support.social import member

from control_plane.ads.models import AdCampaign
from control_plane.ads.server import Viewer
from control_plane.contentid.models import Claim, Reference
from control_plane.social.models import Block, VideoLike

LINEAR = ("start", "firstQuartile", "midpoint", "thirdQuartile", "complete")


def report(platform: Platform, owner_headers: dict[str, str], campaign_id: str) -> dict:
    platform.services.ads.flush(platform.services.ad_counters)
    r = platform.client.get(f"/api/v1/ads/campaigns/{campaign_id}/report", headers=owner_headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_campaigns_need_the_advertiser_role_and_keep_their_rules(
    platform_on: Callable[..., Platform],
) -> None:
    platform = platform_on()
    client = platform.client
    creator, adv = member(platform, "cara"), advertiser(platform, "acme")
    body = {"name": "Launch", "budget": 5000, "currency": "USD", "cpm_bid": 300}
    r = client.post("/api/v1/ads/campaigns", headers=creator.headers, json=body)
    assert r.status_code == 403 and r.json()["code"] == "ROLE_REQUIRED"
    for change, code in (
        ({"currency": "EUR"}, "AD_CURRENCY_NOT_SERVED"),
        ({"cpm_bid": 10}, "CAMPAIGN_INVALID"),  # below the reserve price: it could never win
        ({"daily_budget": 6000}, "CAMPAIGN_INVALID"),
        ({"targeting": {"age_min": 40, "age_max": 20}}, "CAMPAIGN_INVALID"),
        ({"frequency_cap": {"impressions": 3}}, None),  # the schema's own 422
        ({"targeting": {"devices": ["fridge"]}}, None),
        ({"starts_at": "2026-12-01T00:00:00Z", "ends_at": "2026-11-01T00:00:00Z"}, "CAMPAIGN_INVALID"),
    ):
        r = client.post("/api/v1/ads/campaigns", headers=adv.headers, json={**body, **change})
        assert r.status_code == 422, (change, r.text)
        assert code is None or r.json()["code"] == code
    r = client.post(
        "/api/v1/ads/campaigns",
        headers=adv.headers,
        json={
            **body,
            "targeting": {
                "countries": ["GB"],
                "devices": ["mobile"],
                "audiences": ["free"],
                "interests": ["music"],
            },
            "frequency_cap": {"impressions": 2, "per_seconds": 3600},
            "brand_safety": {"excluded_categories": ["news"]},
        },
    )
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["status"] == "active" and made["spent"] == 0 and made["frequency_cap"]["impressions"] == 2
    campaign_id = made["id"]
    listed = client.get("/api/v1/ads/campaigns", headers=adv.headers).json()
    assert [c["id"] for c in listed["items"]] == [campaign_id]
    other = advertiser(platform, "rival")
    assert client.get(f"/api/v1/ads/campaigns/{campaign_id}", headers=other.headers).status_code == 404
    r = client.patch(f"/api/v1/ads/campaigns/{campaign_id}", headers=adv.headers, json={"status": "ended"})
    assert r.json()["status"] == "ended"
    r = client.patch(f"/api/v1/ads/campaigns/{campaign_id}", headers=adv.headers, json={"status": "active"})
    assert r.status_code == 409 and r.json()["code"] == "CAMPAIGN_ENDED"
    # A campaign takes nothing from the prepaid balance when it starts: its delivery is paid from it.
    funds = client.get("/api/v1/ads/funds", headers=adv.headers).json()
    assert funds == {"currency": "usd", "balance": 1_000_000}


def test_the_auction_serves_the_best_bid_at_the_second_price_and_beacons_count_once_in_order(
    platform_on: Callable[..., Platform],
) -> None:
    platform = platform_on()
    high, low, creator = advertiser(platform, "high"), advertiser(platform, "low"), member(platform, "cam")
    best = campaign(platform, high, cpm_bid=900)
    second = campaign(platform, low, cpm_bid=400)
    best_ad = ready_creative(platform, best, high)
    ready_creative(platform, second, low)
    video_id = watched_video(platform, creator, category="music")
    refresh(platform)
    root = vast(platform, video_id)
    assert served(root) == best_ad
    urls = tracking(root)
    assert set(urls) == {"impression", *LINEAR, "skip", "click"}
    assert ping(platform, urls["midpoint"]) == "out_of_order"  # nothing before it was seen
    assert ping(platform, urls["impression"]) == "counted"
    assert ping(platform, urls["impression"]) == "repeat"
    assert ping(platform, urls["firstQuartile"]) == "out_of_order"  # start comes first
    for event in LINEAR:
        assert ping(platform, urls[event]) == "counted"
        assert ping(platform, urls[event]) == "repeat"
    r = platform.client.get(urls["click"], follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == "https://shop.example/spring"
    assert r.headers["ad-beacon"] == "counted"
    r = platform.client.get(urls["start"].replace("/start/", "/complete/"))  # a start token is no complete
    assert r.status_code == 403 and r.json()["code"] == "AD_BEACON_INVALID"
    body = report(platform, high.headers, best)
    totals = body["totals"]
    assert (totals["impressions"], totals["starts"], totals["completes"], totals["clicks"]) == (1, 1, 1, 1)
    assert (totals["first_quartiles"], totals["midpoints"], totals["third_quartiles"]) == (1, 1, 1)
    # Second price: 400 per thousand impressions, so one impression costs 400 millis.
    assert totals["spent_millis"] == 400 and body["completion_rate"] == 1.0
    # 400 millis is less than a cent: the ledger books whole cents, the rest carried in the campaign.
    assert body["charged"] == 0
    earned = platform.client.get("/api/v1/ads/earnings", headers=creator.headers).json()
    assert earned == {"totals": {}, "videos": []}
    with platform.services.db.session() as session:
        assert session.get(AdCampaign, best).spent_millis == 400


def test_a_lone_bid_pays_the_reserve_and_the_same_ad_never_plays_twice_in_a_row(
    platform_on: Callable[..., Platform],
) -> None:
    platform = platform_on(ads_reserve_cpm=120)
    adv, creator, viewer = advertiser(platform, "solo"), member(platform, "cleo"), member(platform, "vic")
    only = campaign(platform, adv, cpm_bid=800)
    first, other = ready_creative(platform, only, adv), ready_creative(platform, only, adv)
    video_id = watched_video(platform, creator)
    refresh(platform)
    seen = [served(vast(platform, video_id, viewer.headers)) for _ in range(6)]
    assert set(seen) == {first, other}
    assert all(a != b for a, b in zip(seen, seen[1:], strict=False)), seen
    urls = tracking(vast(platform, video_id, viewer.headers))
    assert ping(platform, urls["impression"]) == "counted"
    assert report(platform, adv.headers, only)["totals"]["spent_millis"] == 120
    # With a single creative the campaign cannot follow itself: the next answer is empty.
    solo2 = advertiser(platform, "single")
    lonely = campaign(platform, solo2, cpm_bid=2000)
    ad = ready_creative(platform, lonely, solo2)
    refresh(platform)
    assert served(vast(platform, video_id, viewer.headers)) == ad
    assert served(vast(platform, video_id, viewer.headers)) in (first, other)


def test_targeting_reaches_only_the_viewers_it_names(platform_on: Callable[..., Platform]) -> None:
    platform = platform_on()
    server = platform.services.ad_server
    adv, creator = advertiser(platform, "target"), member(platform, "chef")
    video_id = watched_video(platform, creator, category="food")
    phones_gb = campaign(platform, adv, targeting={"countries": ["GB"], "devices": ["mobile"]})
    gb_ad = ready_creative(platform, phones_gb, adv)
    refresh(platform)

    def ad_for(address: str, ua: str, user_id: str | None = None) -> str | None:
        from xml.etree import ElementTree as ET

        root = ET.fromstring(server.decide(video_id, Viewer(user_id, False, address, ua)))
        found = root.find(".//{http://www.iab.com/VAST}UniversalAdId")
        return None if found is None else found.text

    assert ad_for("81.2.69.160", PHONE) == gb_ad  # a GB address in the packaged GeoLite2 database
    assert ad_for("8.8.8.8", PHONE) is None  # US
    assert ad_for("81.2.69.161", "Mozilla/5.0 (X11; Linux x86_64)") is None  # a desktop
    assert ad_for("127.0.0.1", PHONE) is None  # no country known
    with platform.services.db.session() as session:
        session.execute(sa.update(AdCampaign).where(AdCampaign.id == phones_gb).values(status="paused"))
    # Age, interests (the categories of what a viewer liked) and audiences.
    young = member(platform, "young")
    fan = member(platform, "fan")
    liked = watched_video(platform, creator, category="music")
    with platform.services.db.session() as session:
        session.add(VideoLike(video_id=liked, user_id=fan.id))
    r = platform.client.put(
        "/api/v1/ads/profile", headers=young.headers, json={"birth_year": datetime.now(UTC).year - 20}
    )
    assert r.status_code == 200
    teens = campaign(platform, adv, targeting={"age_min": 18, "age_max": 24})
    teen_ad = ready_creative(platform, teens, adv)
    music = campaign(platform, adv, targeting={"interests": ["music"]}, cpm_bid=450)
    music_ad = ready_creative(platform, music, adv)
    makers = campaign(platform, adv, targeting={"audiences": ["creators"]}, cpm_bid=400)
    makers_ad = ready_creative(platform, makers, adv)
    refresh(platform)
    assert ad_for("8.8.8.8", PHONE, young.id) == teen_ad
    assert ad_for("8.8.8.8", PHONE, fan.id) == music_ad  # fan has no age given, and likes music
    assert ad_for("8.8.8.8", PHONE, creator.id) == makers_ad  # chef has ready videos
    assert ad_for("8.8.8.8", PHONE) is None  # anonymous: no age, no interests, the free audience


def test_brand_safety_blocks_and_claims(platform_on: Callable[..., Platform]) -> None:
    platform = platform_on(ads_reserve_cpm=20_000)  # an impression costs 20 cents
    adv, creator, holder = advertiser(platform, "brand"), member(platform, "cat"), member(platform, "rights")
    safe = campaign(platform, adv, brand_safety={"excluded_categories": ["news"]}, cpm_bid=20_000)
    ads = {ready_creative(platform, safe, adv), ready_creative(platform, safe, adv)}  # two: no repeat
    plain = watched_video(platform, creator)
    news = watched_video(platform, creator, category="news")
    restricted = watched_video(platform, creator, age_restricted=True)
    disputed, monetized = watched_video(platform, creator), watched_video(platform, creator)
    reference_video = watched_video(platform, holder)
    with platform.services.db.session() as session:
        reference = Reference(
            video_id=reference_video, owner_id=holder.id, policy="monetize", status="active"
        )
        session.add(reference)
        session.flush()
        for video_id, status in ((disputed, "disputed"), (monetized, "active")):
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
                    status=status,
                )
            )
    refresh(platform)
    assert served(vast(platform, plain)) in ads
    assert served(vast(platform, news)) is None  # the campaign excludes news
    assert served(vast(platform, restricted)) is None  # age-restricted videos never carry ads
    assert served(vast(platform, disputed)) is None  # an open (disputed) claim: no ads
    urls = tracking(vast(platform, monetized))  # a standing monetize claim: ads, paid to the claimant
    assert ping(platform, urls["impression"]) == "counted"
    platform.services.ads.flush(platform.services.ad_counters)
    earned = platform.client.get("/api/v1/ads/earnings", headers=holder.headers).json()
    assert earned["videos"] == [
        {"video_id": monetized, "role": "claimant", "currency": "USD", "amount": 11}
    ]  # 55 % of the reserve's 20 cents
    assert platform.client.get("/api/v1/ads/earnings", headers=creator.headers).json()["totals"] == {}
    # Blocks: a viewer who blocked the advertiser never sees its ads; a video they may not see is 404.
    viewer = member(platform, "viewer")
    with platform.services.db.session() as session:
        session.add(Block(blocker_id=viewer.id, blocked_id=adv.id))
    refresh(platform)
    assert served(vast(platform, plain, viewer.headers)) is None
    r = platform.client.get("/api/v1/ads/vast", params={"video_id": "0" * 32})
    assert r.status_code == 404 and r.json()["code"] == "VIDEO_NOT_FOUND"


def test_frequency_caps_and_budgets_stop_serving(platform_on: Callable[..., Platform]) -> None:
    platform = platform_on()
    adv, creator, viewer = advertiser(platform, "capped"), member(platform, "cyd"), member(platform, "val")
    capped = campaign(platform, adv, frequency_cap={"impressions": 2, "per_seconds": 3600}, cpm_bid=700)
    capped_ads = {ready_creative(platform, capped, adv), ready_creative(platform, capped, adv)}
    video_id = watched_video(platform, creator)
    refresh(platform)
    answers = [served(vast(platform, video_id, viewer.headers)) for _ in range(4)]
    assert [a in capped_ads for a in answers] == [True, True, False, False]
    other = member(platform, "other")  # the cap is per viewer
    assert served(vast(platform, video_id, other.headers)) in capped_ads
    # A budget of 1 cent (1000 millis) at a bid of 1000: it wins, pays the second price (700
    # millis), and then cannot pay for another impression at its bid, from the very next decision.
    tiny_adv = advertiser(platform, "tiny")
    tiny = campaign(platform, tiny_adv, budget=1, cpm_bid=1000)
    tiny_ads = {ready_creative(platform, tiny, tiny_adv), ready_creative(platform, tiny, tiny_adv)}
    refresh(platform)
    root = vast(platform, video_id, member(platform, "third").headers)
    assert served(root) in tiny_ads
    assert ping(platform, tracking(root)["impression"]) == "counted"
    assert served(vast(platform, video_id, member(platform, "fourth").headers)) in capped_ads
    totals = report(platform, tiny_adv.headers, tiny)["totals"]
    assert totals["impressions"] == 1 and totals["spent_millis"] == 700


def test_schedule_and_pause(platform_on: Callable[..., Platform]) -> None:
    platform = platform_on()
    adv, creator = advertiser(platform, "sched"), member(platform, "syd")
    later = datetime.now(UTC) + timedelta(days=1)
    future = campaign(platform, adv, starts_at=later.isoformat())
    ready_creative(platform, future, adv)
    video_id = watched_video(platform, creator)
    refresh(platform)
    assert served(vast(platform, video_id)) is None
    now = campaign(platform, adv)
    ready_creative(platform, now, adv)
    refresh(platform)
    assert served(vast(platform, video_id)) is not None
    platform.client.patch(f"/api/v1/ads/campaigns/{now}", headers=adv.headers, json={"status": "paused"})
    refresh(platform)
    assert served(vast(platform, video_id)) is None


def test_vmap_names_the_pre_roll_and_profiles_keep_a_birth_year(platform_on: Callable[..., Platform]) -> None:
    from xml.etree import ElementTree as ET

    platform = platform_on()
    viewer = member(platform, "vmapper")
    r = platform.client.get("/api/v1/ads/vmap", params={"video_id": "abc123"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(r.content)
    vmap = "{http://www.iab.net/videosuite/vmap}"
    assert root.tag == f"{vmap}VMAP" and root.get("version") == "1.0"
    brk = root.find(f"{vmap}AdBreak")
    assert brk is not None and (brk.get("timeOffset"), brk.get("breakType")) == ("start", "linear")
    tag = root.find(f"{vmap}AdBreak/{vmap}AdSource/{vmap}AdTagURI")
    assert tag is not None and tag.get("templateType") == "vast4"
    assert tag.text == "http://127.0.0.1:8000/api/v1/ads/vast?video_id=abc123&placement=preroll"
    assert platform.client.get("/api/v1/ads/profile", headers=viewer.headers).json() == {"birth_year": None}
    r = platform.client.put("/api/v1/ads/profile", headers=viewer.headers, json={"birth_year": 1990})
    assert r.json() == {"birth_year": 1990}
    assert platform.client.get("/api/v1/ads/profile", headers=viewer.headers).json() == {"birth_year": 1990}
    assert platform.client.get("/api/v1/ads/earnings", headers=viewer.headers).json() == {
        "totals": {},
        "videos": [],
    }
