"""Ads end to end: a creative uploaded and transcoded like any video, refused when longer than 7 s,
reviewed, packaged as a progressive MP4 and served in VAST that a real player-side client reads;
and caps and budgets held exactly by two API instances sharing one Redis under concurrency."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import av
import imageio_ffmpeg
import pytest
import redis
from support.ads import (
    advertiser,
    campaign,
    fund,
    ready_creative,
    refresh,
    schema,
    served,
    tracking,
    vast,
    watched_video,
)
from support.backends import REDIS_DB
from support.platform import Platform, production
from support.social import member
from support.videos import ready_video

from control_plane.ads.models import AdCampaign


def make_clip(folder: Path, seconds: int) -> bytes:
    path = folder / f"clip{seconds}.mp4"
    video = ["-f", "lavfi", "-i", f"testsrc2=size=160x120:rate=15:d={seconds}"]
    audio = ["-f", "lavfi", "-i", f"sine=frequency=440:d={seconds}"]
    encode = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"]
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", *video, *audio, *encode, str(path)], check=True
    )
    return path.read_bytes()


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[int, bytes]:
    folder = tmp_path_factory.mktemp("ad-clips")
    return {3: make_clip(folder, 3), 9: make_clip(folder, 9)}


def wait_packaged(platform: Platform, headers: dict[str, str], campaign_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        creatives = platform.client.get(
            f"/api/v1/ads/campaigns/{campaign_id}/creatives", headers=headers
        ).json()
        if creatives and creatives[0]["packaged"]:
            return dict(creatives[0])
        time.sleep(0.1)
    raise AssertionError("the creative's MP4 was not made")


def test_a_creative_from_upload_to_a_vast_a_player_reads(
    platform_on: Callable[..., Platform],
    clips: dict[int, bytes],
    vast_client: Callable[[bytes], dict[str, Any]],
    tmp_path: Path,
) -> None:
    platform = platform_on()
    client = platform.client
    adv = platform.user("adco", role="advertiser")
    mod = platform.user("modd", role="moderator")
    creator = member(platform, "vlogger")
    short, long = ready_video(platform, adv, clips[3]), ready_video(platform, adv, clips[9])
    r = client.post(
        "/api/v1/ads/campaigns",
        headers=adv,
        json={"name": "Lemonade", "budget": 2000, "currency": "USD", "cpm_bid": 600},
    )
    campaign_id = r.json()["id"]
    fund(platform, adv, 2000)  # the advertiser's prepaid balance pays for it
    creatives = f"/api/v1/ads/campaigns/{campaign_id}/creatives"
    r = client.post(creatives, headers=adv, json={"video_id": long, "click_url": "https://lemon.example/"})
    assert r.status_code == 422 and r.json()["code"] == "CREATIVE_TOO_LONG"
    assert "at most 7.0 s" in r.json()["detail"]
    r = client.post(
        creatives, headers=creator.headers, json={"video_id": short, "click_url": "https://x.example/"}
    )
    assert r.status_code == 403  # creators are not advertisers
    r = client.post(creatives, headers=adv, json={"video_id": short, "click_url": "https://lemon.example/"})
    assert r.status_code == 201, r.text
    creative = r.json()
    assert creative["status"] == "pending" and 2.9 < creative["duration"] < 3.2
    video_id = watched_video(platform, creator)
    refresh(platform)
    assert served(vast(platform, video_id)) is None  # not reviewed yet
    queue = client.get("/api/v1/ads/reviews", headers=mod).json()
    assert [c["id"] for c in queue["items"]] == [creative["id"]]
    assert client.get("/api/v1/ads/reviews", headers=adv).status_code == 403
    r = client.post(
        f"/api/v1/ads/creatives/{creative['id']}/review", headers=mod, json={"decision": "approve"}
    )
    assert r.json()["status"] == "approved"
    wait_packaged(platform, adv, campaign_id)
    refresh(platform)
    r = client.get("/api/v1/ads/vast", params={"video_id": video_id, "placement": "preroll"})
    schema().validate(r.content)
    parsed = vast_client(r.content)
    assert parsed["version"] == "4.2" and len(parsed["ads"]) == 1
    ad = parsed["ads"][0]
    assert ad["title"] == "Lemonade" and ad["advertiser"] == "adco" and len(ad["impressions"]) == 1
    linear = ad["creatives"][0]
    assert linear["type"] == "linear" and 2.9 < linear["duration"] < 3.2
    assert linear["universalAdIds"] == [{"idRegistry": "socialflow", "value": creative["id"]}]
    assert set(linear["tracking"]) == {"start", "firstQuartile", "midpoint", "thirdQuartile", "complete"}
    # 3 s is shorter than the skip offset (5 s): not skippable, so no skip tracking.
    assert linear["skipDelay"] is None or linear["skipDelay"] == -1
    by_delivery = {m["delivery"]: m for m in linear["mediaFiles"]}
    mp4, hls = by_delivery["progressive"], by_delivery["streaming"]
    assert mp4["mime"] == "video/mp4" and hls["mime"] == "application/x-mpegURL"
    r = client.get(urlsplit(mp4["url"]).path)
    assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
    assert r.content.find(b"moov") < r.content.find(b"mdat")  # faststart: the index comes first
    (tmp_path / "ad.mp4").write_bytes(r.content)
    with av.open(str(tmp_path / "ad.mp4")) as played:
        kinds = sorted(s.type for s in played.streams)
        assert kinds == ["audio", "video"]
        assert played.streams.video[0].codec_context.height == mp4["height"] == 120
        assert 2.8 < float(played.duration) / 1_000_000 < 3.3
    r = client.get(urlsplit(hls["url"]).path)
    assert r.status_code == 200 and r.text.startswith("#EXTM3U")
    r = client.get(urlsplit(ad["impressions"][0]).path)
    assert r.status_code == 204 and r.headers["ad-beacon"] == "counted"


@pytest.fixture
def twin_platforms(
    tmp_path: Path, platform_factory: Callable[..., Platform], postgres_url: str, redis_url: str
) -> tuple[Platform, Platform]:
    """Two API instances on one PostgreSQL and one Redis, each with its own services (its own
    decision index, caches and Redis connections), as two API processes have."""
    own = f"{redis_url.rsplit('/', 1)[0]}/{REDIS_DB}"
    redis.Redis.from_url(own).flushdb()
    settings = production(
        tmp_path,
        database_url=postgres_url,
        broker_url="",
        storage_url=f"file://{tmp_path / 'blobs'}",
        redis_url=own,
        ads_reserve_cpm=1000,
    )
    secret = settings.secret_key
    first = platform_factory(settings, inprocess_workers=False)
    second = platform_factory(settings.model_copy(update={"secret_key": secret}), inprocess_workers=False)
    return first, second


def test_two_api_instances_hold_caps_and_budgets_exactly(twin_platforms: tuple[Platform, Platform]) -> None:
    one, two = twin_platforms
    adv, creator, viewer = advertiser(one, "twinadv"), member(one, "twincre"), member(one, "twinview")
    capped = campaign(one, adv, cpm_bid=1500, frequency_cap={"impressions": 3, "per_seconds": 3600})
    ready_creative(one, capped, adv)
    ready_creative(one, capped, adv)
    video_id = watched_video(one, creator)
    for p in (one, two):
        refresh(p)

    def ask(i: int, headers: dict[str, str] | None = None, ua: str = "ua") -> Any:
        platform = (one, two)[i % 2]
        r = platform.client.get(
            "/api/v1/ads/vast", params={"video_id": video_id}, headers={**(headers or {}), "User-Agent": ua}
        )
        assert r.status_code == 200, r.text
        return r.content

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: ask(i, viewer.headers), range(24)))
    from xml.etree import ElementTree as ET

    roots = [ET.fromstring(a) for a in answers]
    assert sum(served(root) is not None for root in roots) == 3  # exactly the cap, across both
    # A budget of 5 cents at a price of 10 cents per thousand: exactly five impressions are paid.
    one.client.patch(f"/api/v1/ads/campaigns/{capped}", headers=adv.headers, json={"status": "paused"})
    budget_adv = advertiser(one, "budgetadv")
    funded = campaign(one, budget_adv, budget=5, cpm_bid=1000)
    ready_creative(one, funded, budget_adv)
    for p in (one, two):
        refresh(p)
    with ThreadPoolExecutor(8) as pool:
        roots = [ET.fromstring(a) for a in pool.map(lambda i: ask(i, ua=f"viewer-{i}"), range(20))]
    impressions = [tracking(root)["impression"] for root in roots if served(root) is not None]
    assert len(impressions) == 20  # nothing was spent yet: every viewer may be served

    def ping(i_path: tuple[int, str]) -> str:
        r = (one, two)[i_path[0] % 2].client.get(i_path[1])
        assert r.status_code == 204
        return str(r.headers["ad-beacon"])

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(ping, enumerate(impressions)))
    assert outcomes.count("counted") == 5 and outcomes.count("unpaid") == 15
    # Spent: the next decision on either instance serves nothing, without waiting for a refresh.
    assert served(ET.fromstring(ask(0, ua="late-1"))) is None
    assert served(ET.fromstring(ask(1, ua="late-2"))) is None
    one.services.ads.flush(one.services.ad_counters)
    with one.services.db.session() as session:
        assert session.get(AdCampaign, funded).spent_millis == 5000
    report = one.client.get(f"/api/v1/ads/campaigns/{funded}/report", headers=budget_adv.headers).json()
    assert report["totals"]["impressions"] == 20 and report["totals"]["spent"] == 5
