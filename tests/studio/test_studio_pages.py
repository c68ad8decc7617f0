"""The studio pages on the later APIs, in a real browser against a real ``socialflow serve``: the
home feed with "Load more", the notifications bell counting live over the WebSocket and the
notifications page marking them read, a pre-roll ad played through the VAST client before the
video (its beacons counted in the campaign's report), the player's view heartbeats counted as a
view, and the analytics page charting it. Screenshots go to the artefacts."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.serve import SOCIALFLOW, Serve

from .conftest import PASSWORD, sign_in, sign_up

#: A desktop Chrome: the views and ads APIs do not count "HeadlessChrome" (a bot's User-Agent).
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    """This module's server flushes views and ad counters often, so what the browser did shows
    in the API within a second, and makes ads skippable after 1 s (5 s by default)."""
    data = tmp_path_factory.mktemp("studio-pages-serve")
    serve = Serve(
        data,
        views_flush_interval="0.5",
        ads_flush_interval="0.5",
        ads_refresh_interval="0.2",
        ads_skip_after="1",
    ).start()
    try:
        yield serve
    finally:
        serve.stop()


def wait_until(check: Callable[[], Any], what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def set_role(server: Serve, username: str, role: str) -> None:
    subprocess.run([SOCIALFLOW, "set-role", username, role], env=server.env, check=True, capture_output=True)


@dataclass
class Stage:
    owner: dict[str, str]
    video_id: str
    advertiser: dict[str, str]
    campaign_id: str


@pytest.fixture(scope="module")
def stage(server: Serve, clip: Path) -> Stage:
    """olga's ready public video, and an approved, packaged pre-roll campaign of adam's (the same
    4 s clip, uploaded by him), reviewed by the moderator mona."""
    for name in ("olga", "adam", "mona"):
        server.user(name, PASSWORD)
    set_role(server, "adam", "advertiser")
    set_role(server, "mona", "moderator")
    owner, adv, mod = (server.user(n, PASSWORD) for n in ("olga", "adam", "mona"))
    video_id = server.upload(owner, clip.read_bytes())
    ad_video = server.upload(adv, clip.read_bytes())
    for headers, vid in ((owner, video_id), (adv, ad_video)):
        assert server.wait_video(headers, vid, {"ready", "failed"}, 120)["status"] == "ready"
    api = f"{server.base}/api/v1/ads"
    # adam prepays his ad balance through the local payments provider (a campaign spends from it)
    r = httpx.post(f"{api}/funds", headers=adv, json={"amount": 100_000})
    assert r.status_code == 201, r.text
    secret = r.json()["client_secret"]
    confirm = f"{server.base}/api/v1/payments/local/intents/{secret.split('_secret_')[0]}/confirm"
    assert httpx.post(confirm, json={"client_secret": secret}).json() == {"status": "succeeded"}
    r = httpx.post(
        f"{api}/campaigns",
        headers=adv,
        json={"name": "Bars", "budget": 10_000, "currency": "USD", "cpm_bid": 500},
    )
    assert r.status_code == 201, r.text
    campaign_id = r.json()["id"]
    r = httpx.post(
        f"{api}/campaigns/{campaign_id}/creatives",
        headers=adv,
        json={"video_id": ad_video, "click_url": "https://bars.example/"},
    )
    assert r.status_code == 201, r.text
    r = httpx.post(f"{api}/creatives/{r.json()['id']}/review", headers=mod, json={"decision": "approve"})
    assert r.status_code == 200, r.text
    wait_until(
        lambda: httpx.get(f"{api}/campaigns/{campaign_id}/creatives", headers=adv).json()[0]["packaged"],
        "the creative's MP4 was not made",
        60,
    )
    return Stage(owner, video_id, adv, campaign_id)


def test_the_feed_shows_a_followed_creators_posts_and_loads_more(
    browsing: Any, server: Serve, artefacts: Path
) -> None:
    creator = server.user("quinn", PASSWORD)
    for i in range(12):
        r = httpx.post(
            f"{server.base}/api/v1/posts", headers=creator, json={"text": f"Post number {i} #bars"}
        )
        assert r.status_code == 201, r.text
    page = browsing(viewport={"width": 1000, "height": 900}).page()
    sign_up(page, "rita")
    page.goto("/studio/feed")
    page.wait_for_selector("text=Nothing here yet")
    page.goto("/studio/channel/quinn")
    page.get_by_role("button", name="Follow").click()
    page.wait_for_selector("button[aria-pressed=true]:has-text('Following')")

    page.get_by_role("link", name="Feed").click()
    posts = page.locator("ul.feed li[data-kind=post]")
    posts.nth(9).wait_for()
    assert posts.count() == 10  # a page
    assert "Post number 11" in posts.first.inner_text()  # newest first
    page.get_by_role("button", name="Load more").click()
    posts.nth(11).wait_for()
    assert "Post number 0" in posts.nth(11).inner_text()
    assert page.get_by_role("button", name="Load more").is_hidden()  # no page after the last
    page.screenshot(path=artefacts / "feed.png", full_page=True)

    page.get_by_role("link", name="Top").click()
    page.wait_for_selector("nav.tabs a[aria-current=page]:has-text('Top')")
    posts.nth(9).wait_for()
    page.get_by_role("textbox", name="Post something").fill("Hello from the studio")
    page.get_by_role("button", name="Post", exact=True).click()
    page.wait_for_selector("text=Posted")
    mine = httpx.get(f"{server.base}/api/v1/users/rita/posts").json()["items"]
    assert [p["text"] for p in mine] == ["Hello from the studio"]


def test_the_bell_counts_live_and_the_notifications_page_marks_them_read(
    browsing: Any, server: Serve, stage: Stage, artefacts: Path
) -> None:
    page = browsing().page()
    sign_in(page, "olga")
    page.wait_for_selector("a.bell[data-socket=open]")
    unread = lambda: int(page.get_attribute("a.bell .count", "data-unread") or -1)  # noqa: E731
    before = unread()

    fan = server.user("pavel", PASSWORD)
    r = httpx.put(f"{server.base}/api/v1/users/olga/follow", headers=fan)
    assert r.status_code in (200, 204), r.text
    page.wait_for_selector(f"a.bell .count[data-unread='{before + 1}']", timeout=10_000)
    r = httpx.post(
        f"{server.base}/api/v1/videos/{stage.video_id}/comments", headers=fan, json={"text": "Great bars"}
    )
    assert r.status_code == 201, r.text
    page.wait_for_selector(f"a.bell .count[data-unread='{before + 2}']", timeout=10_000)
    assert page.get_attribute("a.bell", "aria-label") == f"Notifications, {before + 2} unread"
    page.screenshot(path=artefacts / "bell.png")

    page.locator("a.bell").click()
    page.wait_for_url("**/studio/notifications")
    page.wait_for_selector("li.note.unread[data-type=comment]:has-text('pavel')")
    page.wait_for_selector("li.note.unread[data-type=follow]:has-text('pavel')")
    assert page.locator("section[data-day=Today] h2").inner_text() == "Today"
    page.screenshot(path=artefacts / "notifications.png", full_page=True)

    # A new one arrives on the open page, live.
    other = server.user("quentin", PASSWORD)
    httpx.put(f"{server.base}/api/v1/users/olga/follow", headers=other)
    page.wait_for_selector("li.note[data-type=follow]:has-text('quentin')")

    page.get_by_role("button", name="Mark all read").click()
    page.wait_for_selector("a.bell .count[data-unread='0']")
    assert page.locator("li.note.unread").count() == 0
    count = httpx.get(f"{server.base}/api/v1/notifications/unread-count", headers=stage.owner).json()
    assert count == {"unread": 0}


def test_a_preroll_plays_before_the_video_whose_heartbeats_count_a_view_and_analytics_chart_it(
    browsing: Any, server: Serve, stage: Stage, artefacts: Path
) -> None:
    viewer = browsing(user_agent=DESKTOP, viewport={"width": 1000, "height": 800})
    page = viewer.page()
    beacons: list[str] = []
    beats: list[str] = []

    def seen(request: Any) -> None:
        if "/ads/beacons/" in request.url:
            beacons.append(request.url.split("/beacons/")[1].split("/")[0])
        elif request.url.endswith("/views"):
            beats.append(request.post_data or "")

    page.on("request", seen)
    report = f"{server.base}/api/v1/ads/campaigns/{stage.campaign_id}/report"
    before = httpx.get(report, headers=stage.advertiser).json()["totals"]
    views = server.video(stage.owner, stage.video_id)["views"]
    assert views == 0  # so that the analytics below show this test's view
    page.goto(f"/studio/watch/{stage.video_id}")  # signed out: heartbeats and ads are anonymous too
    page.wait_for_selector(".player[data-preroll=ready]")
    page.evaluate(
        "() => { const v = document.querySelector('.player video');"
        " v.muted = true; v.play().catch(() => {}); }"
    )

    ad = page.locator(".ad video")
    ad.wait_for()
    page.wait_for_function("() => document.querySelector('.ad video')?.currentTime > 1")
    main = page.locator(".player > video")
    held = main.evaluate("v => ({ paused: v.paused, t: v.currentTime })")
    assert held["paused"] and held["t"] < 0.5, held  # the video waits for the ad
    page.screenshot(path=artefacts / "watch-preroll.png")
    page.wait_for_selector(".player[data-ad=complete]", timeout=15_000)
    page.wait_for_function("() => document.querySelector('.player > video').ended", timeout=15_000)
    page.screenshot(path=artefacts / "watch-after-preroll.png")
    assert beacons[:2] == ["impression", "start"] and beacons[-1] == "complete", beacons
    assert {"firstQuartile", "midpoint", "thirdQuartile"} <= set(beacons), beacons
    assert len(beats) >= 2, beats  # at the start, and at the end of this 4 s clip

    # The ads report counts the impression and the completion (flushed every 0.5 s here).
    totals = wait_until(
        lambda: (
            (t := httpx.get(report, headers=stage.advertiser).json()["totals"])["completes"]
            > before["completes"]
            and t
        ),
        "the ad's beacons were not counted",
    )
    counted = {k: totals[k] - before[k] for k in ("impressions", "starts", "completes", "skips")}
    assert counted == {"impressions": 1, "starts": 1, "completes": 1, "skips": 0}, counted

    # The heartbeats made a view, with its watch time.
    wait_until(lambda: server.video(stage.owner, stage.video_id)["views"] == 1, "no view was counted")

    # The owner's analytics page charts it.
    owner = browsing(viewport={"width": 1000, "height": 900}).page()
    sign_in(owner, "olga")
    owner.goto("/studio/videos")
    owner.locator(f"tr[data-video='{stage.video_id}']").get_by_role("link", name="Analytics").click()
    owner.wait_for_selector("svg.chart >> nth=2")
    assert owner.inner_text("[data-stat=Views]") == "1"
    assert owner.locator("svg.chart path.line").count() == 1  # the retention curve
    assert owner.locator("svg.chart rect.bar").count() == 2 * 28  # views and watch time a day
    owner.wait_for_selector("h1:has-text('Analytics: ')")
    owner.screenshot(path=artefacts / "analytics.png", full_page=True)
    with owner.expect_download() as download:
        owner.get_by_role("button", name="Download CSV").click()
    assert download.value.suggested_filename.endswith(".csv")
    rows = Path(download.value.path()).read_text().splitlines()
    assert len(rows) == 1 + 28 and rows[-1].split(",")[1] == "1", rows[:1] + rows[-1:]
    owner.get_by_role("link", name="Analytics", exact=True).first.click()
    owner.wait_for_selector("h1:has-text('Channel analytics')")
    owner.wait_for_selector("svg.chart >> nth=1")
    assert owner.inner_text("[data-stat=Views]") == "1"
    owner.screenshot(path=artefacts / "analytics-channel.png", full_page=True)


def test_a_preroll_is_skipped_after_its_skip_offset(
    browsing: Any, server: Serve, stage: Stage, artefacts: Path
) -> None:
    page = browsing(user_agent=DESKTOP).page()
    sign_up(page, "sam")  # signed in: the ads API caps and rotates by account
    page.goto(f"/studio/watch/{stage.video_id}")
    page.wait_for_selector(".player[data-preroll=ready]")
    page.evaluate("() => { const v = document.querySelector('.player video'); v.play().catch(() => {}); }")
    skip = page.get_by_role("button", name="Skip ad")
    skip.wait_for()  # shown once the VAST skipoffset (1 s here) has played
    assert page.evaluate("() => document.querySelector('.ad video').currentTime") >= 1
    page.screenshot(path=artefacts / "watch-preroll-skip.png")
    skip.click()
    page.wait_for_selector(".player[data-ad=skipped]")
    page.wait_for_function("() => document.querySelector('.player > video').currentTime > 0.3")
    page.evaluate("() => document.querySelector('.player > video').pause()")  # no view from sam
    report = f"{server.base}/api/v1/ads/campaigns/{stage.campaign_id}/report"
    wait_until(
        lambda: httpx.get(report, headers=stage.advertiser).json()["totals"]["skips"] == 1,
        "the skip was not counted",
    )
