"""The studio in a real browser against a real ``socialflow serve``: sign up, upload a clip
through the page (progress, pause and resume, resume after a reload), watch it process, play it
to the end with hls.js and force a quality switch; a second user likes, comments and follows;
a stream published with ffmpeg plays in the WHEP preview. Screenshots go to the artefacts."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect
from support.publishers import Publishers
from support.serve import Serve

from .conftest import PASSWORD, Browsing, sign_in, sign_up

UPLOAD_BYTES_PER_S = 200_000  # the upload is throttled so that its progress can be watched


def progress(page: Any) -> int:
    return int(page.evaluate("() => document.querySelector('li.upload progress')?.value ?? -1"))


def wait_progress(page: Any, above: int, seen: list[int], timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while True:
        value = progress(page)
        if value not in seen:
            seen.append(value)
        if value > above:
            return value
        assert time.monotonic() < deadline, f"upload stuck at {value}%: {seen}"
        page.wait_for_timeout(50)


def throttle(browsing: Browsing, page: Any) -> None:
    cdp = browsing.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": UPLOAD_BYTES_PER_S},
    )


def api_token(server: Serve, username: str) -> dict[str, str]:
    r = httpx.post(f"{server.base}/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_upload_through_the_page_then_play_it_to_the_end(
    browsing: Any, server: Serve, clip: Path, artefacts: Path
) -> None:
    browser = browsing(viewport={"width": 1280, "height": 900})
    page = browser.page()
    sign_up(page, "alice")
    page.screenshot(path=artefacts / "upload.png", full_page=True)
    throttle(browser, page)

    # Upload: the bar moves; pause holds it; resume goes on.
    page.get_by_label("Title").fill("Test pattern")
    page.get_by_label("Description").fill("Bars and a tone.")
    page.get_by_label("Tags").fill("test, pattern")
    page.set_input_files("#files", str(clip))
    seen: list[int] = []
    wait_progress(page, 5, seen)
    page.get_by_role("button", name="Pause").click()
    page.wait_for_timeout(300)
    held = progress(page)
    page.wait_for_timeout(700)
    assert progress(page) == held and "Paused" in page.inner_text("li.upload .state")
    page.get_by_role("button", name="Resume").click()
    wait_progress(page, held + 10, seen)

    # A reload cuts the upload; picking the file again resumes it where the server has it.
    page.reload()
    page.wait_for_selector("text=Unfinished uploads")
    page.screenshot(path=artefacts / "upload-unfinished.png", full_page=True)
    page.set_input_files("#files", str(clip))
    page.wait_for_selector("li.upload .state:has-text('Resuming')", timeout=10_000)
    page.wait_for_selector("li.upload .state:has-text('Uploaded')", timeout=60_000)
    moving = [v for v in seen if 0 < v < 100]
    assert len(moving) >= 3 and moving == sorted(moving), seen

    # Processing status arrives over SSE, then the player shows on the upload page.
    page.wait_for_selector("li.upload[data-status=ready]", timeout=120_000)
    page.wait_for_selector("li.upload video[data-engine='hls.js']", timeout=30_000)
    video_id = page.get_attribute("li.upload", "data-video")
    page.screenshot(path=artefacts / "upload-ready.png", full_page=True)
    assert server.video(api_token(server, "alice"), video_id)["description"] == "Bars and a tone."

    # The watch page: storyboard thumbnails on the seek bar, a forced quality, played to the end.
    media: list[str] = []
    page.on(
        "request", lambda r: media.append(r.url.split("/media/videos/")[-1]) if "/media/" in r.url else None
    )
    page.goto(f"/studio/watch/{video_id}")
    video = page.locator(".player video")
    page.wait_for_selector(".player video[data-engine='hls.js']")
    # The controls join the player once its storyboard has loaded, after the engine is chosen.
    expect(page.locator("select.quality option")).to_have_count(3)  # Auto, 360p, 240p
    seek = page.get_by_label("Seek")
    box = seek.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
    page.wait_for_selector(".seek .preview:not([hidden])")
    assert "sprite" in page.eval_on_selector(".seek .preview", "e => e.style.backgroundImage")
    page.screenshot(path=artefacts / "watch-storyboard.png", full_page=True)
    page.mouse.move(0, 0)

    page.wait_for_function("() => document.querySelector('.player video').dataset.level !== undefined")
    first = video.evaluate("v => v.dataset.level")
    other = next(
        o
        for o in page.eval_on_selector_all(
            "select.quality option", "os => os.map(o => [o.value, o.textContent])"
        )
        if o[0] not in ("-1", first)
    )
    media.clear()
    page.select_option("select.quality", value=other[0])  # forced: the rendition not playing
    page.wait_for_function(
        "f => document.querySelector('.player video').dataset.level === f", arg=other[0], timeout=20_000
    )
    video.evaluate("v => { v.muted = true; v.playbackRate = 2; return v.play(); }")
    page.wait_for_function("() => document.querySelector('.player video').ended", timeout=30_000)
    played = video.evaluate("v => ({ t: v.currentTime, d: v.duration })")
    assert played["t"] >= 3.5 and abs(played["t"] - played["d"]) < 0.5, played
    forced_rung = other[1].split(" ")[0]  # "240p": after the switch, that rendition's media loads
    assert any(f"/{forced_rung}/seg_" in url for url in media), media
    page.screenshot(path=artefacts / "watch-ended.png", full_page=True)

    # My videos: the table lists it with its counts.
    page.goto("/studio/videos")
    row = page.locator(f"tr[data-video='{video_id}']")
    row.wait_for()
    assert "ready" in row.inner_text()
    page.screenshot(path=artefacts / "my-videos.png", full_page=True)


def test_a_second_user_likes_comments_and_follows(
    browsing: Any, server: Serve, clip: Path, artefacts: Path
) -> None:
    owner = server.user("carol", PASSWORD)
    video_id = server.upload(owner, clip.read_bytes())
    assert server.wait_video(owner, video_id, {"ready", "failed"}, 120)["status"] == "ready"

    page = browsing().page()
    sign_up(page, "dave")
    page.goto(f"/studio/watch/{video_id}")
    page.get_by_role("button", name="Like").click()
    page.wait_for_selector("button[aria-pressed=true]:has-text('Liked 1')")
    page.get_by_role("textbox", name="Add a comment").fill("Lovely bars!")
    page.get_by_role("button", name="Comment", exact=True).click()
    page.wait_for_selector(".comment:has-text('Lovely bars!')")
    page.get_by_role("button", name="Follow").click()
    page.wait_for_selector("text=1 followers")
    page.screenshot(path=artefacts / "watch-second-user.png", full_page=True)

    # What the page did is what the API says. (Counts are not asserted: on main the social
    # domain keeps them in its own stats tables, which GET /videos/{id} and profiles do not read yet.)
    comments = httpx.get(f"{server.base}/api/v1/videos/{video_id}/comments").json()["items"]
    assert [(c["author"]["username"], c["text"]) for c in comments] == [("dave", "Lovely bars!")]
    followers = httpx.get(f"{server.base}/api/v1/users/carol/followers").json()["items"]
    assert [f["username"] for f in followers] == ["dave"]

    # The second user's comment survives a reload; the owner's channel page shows the video.
    page.reload()
    page.wait_for_selector(".comment:has-text('Lovely bars!')")
    page.goto("/studio/channel/carol")
    page.wait_for_selector(f"a[href='/studio/watch/{video_id}']")
    page.screenshot(path=artefacts / "channel.png", full_page=True)


def test_go_live_from_ffmpeg_and_watch_the_whep_preview(
    browsing: Any, server: Serve, ffmpeg_publishers: Publishers, artefacts: Path
) -> None:
    page = browsing(viewport={"width": 1280, "height": 900}).page()
    sign_up(page, "erin")
    page.goto("/studio/live")
    page.get_by_label("Stream title").fill("Erin live")
    page.get_by_role("button", name="Create stream").click()
    page.wait_for_url("**/studio/live/*")
    key = page.get_by_label("Stream key").input_value()
    server_url = page.get_by_label("RTMP server URL").input_value()
    assert key.startswith("sk_") and server_url.endswith("/live")
    page.screenshot(path=artefacts / "go-live.png", full_page=True)

    rtmp = f"rtmp://127.0.0.1:{server.rtmp_port}/live/{key}"
    ffmpeg_publishers.test_pattern(rtmp, size="320x240")
    page.wait_for_selector(".badge[data-status=live]", timeout=30_000)
    page.wait_for_selector("video[data-whep=connected]", timeout=30_000)
    preview = page.get_by_label("Live preview")
    page.wait_for_function(
        "() => { const v = document.querySelector('video[data-whep]');"
        " return v.videoWidth > 0 && v.currentTime > 1; }",
        timeout=30_000,
    )
    assert preview.evaluate("v => v.videoWidth") == 320
    page.wait_for_function(
        "() => /[1-9][0-9]* watching/.test(document.querySelector('.viewers').textContent)"
    )

    page.get_by_role("textbox", name="Message").fill("hello chat")
    page.get_by_role("button", name="Send").click()
    page.wait_for_selector(".chat-log li:has-text('hello chat')")
    page.screenshot(path=artefacts / "go-live-preview.png", full_page=True)


def test_the_studio_needs_nothing_but_its_server(
    browsing: Any, server: Serve, clip: Path, artefacts: Path
) -> None:
    """With every address but the server's cut off, every page works at a phone's width, each
    control has a label, and no request leaves (the fixture fails the test if one tried)."""
    owner = server.user("frank", PASSWORD)
    video_id = server.upload(owner, clip.read_bytes())
    assert server.wait_video(owner, video_id, {"ready", "failed"}, 120)["status"] == "ready"
    browser = browsing(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page = browser.page()
    sign_in(page, "frank")
    pages = {
        "home": ("/studio/", "h1:has-text('Social Flow')"),
        "upload": ("/studio/upload", "text=Drop video files here"),
        "my-videos": ("/studio/videos", f"tr[data-video='{video_id}']"),
        "watch": (f"/studio/watch/{video_id}", ".player video[data-engine]"),
        "channel": ("/studio/channel/frank", "h1:has-text('frank')"),
        "search": ("/studio/search?q=frank&type=channels", "a[href='/studio/channel/frank']"),
        "go-live": ("/studio/live", "text=Create stream"),
        "feed": ("/studio/feed", "text=Nothing here yet"),
        "notifications": ("/studio/notifications", "li.note[data-type=video_ready]"),
        "analytics": (f"/studio/videos/{video_id}/analytics", "svg.chart >> nth=2"),
        "channel-analytics": ("/studio/analytics", "svg.chart >> nth=1"),
    }
    for name, (path, ready) in pages.items():
        page.goto(path)
        page.wait_for_selector(ready)
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
                .filter(e => !e.closest('[hidden]') && !(e.labels && e.labels.length)
                    && !e.getAttribute('aria-label') && !(e.textContent || '').trim())
                .map(e => e.outerHTML)"""
        )
        assert unlabelled == [], (name, unlabelled)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 375, f"{name} is {width} px wide at a phone's 375"
        page.screenshot(path=artefacts / f"phone-{name}.png", full_page=True)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector("a:has-text('Sign in')")
    page.goto("/studio/signin")
    page.screenshot(path=artefacts / "phone-signin.png", full_page=True)


def test_go_live_from_the_browser_camera_over_whip(browsing: Any, server: Serve, artefacts: Path) -> None:
    """Chromium's fake camera and microphone publish over WHIP; the stream goes live."""
    page = browsing().page()
    sign_up(page, "gina")
    page.goto("/studio/live")
    page.get_by_label("Stream title").fill("Gina from the browser")
    page.get_by_role("button", name="Create stream").click()
    page.wait_for_url("**/studio/live/*")
    page.get_by_role("button", name="Go live from this browser").click()
    page.wait_for_selector("text=Publishing from the camera", timeout=20_000)
    page.wait_for_selector(".badge[data-status=live]", timeout=30_000)
    page.screenshot(path=artefacts / "go-live-whip.png", full_page=True)
    page.get_by_role("button", name="Stop").click()
    page.wait_for_selector("text=Stopped.")


def test_a_failed_upload_says_why_and_my_videos_edits_and_deletes(
    browsing: Any, server: Serve, clip: Path, tmp_path: Path, artefacts: Path
) -> None:
    page = browsing().page()
    sign_up(page, "kim")
    broken = tmp_path / "holiday.mp4"
    broken.write_bytes(b"this is not a video at all\n" * 2000)
    page.set_input_files("#files", str(broken))
    card = page.locator("li.upload")
    page.wait_for_selector("li.upload[data-status=failed]", timeout=60_000)
    reason = card.locator(".error").inner_text()
    assert reason.strip() and "Traceback" not in reason, reason
    page.get_by_role("button", name="Retry processing").click()
    page.wait_for_selector("li.upload[data-status=failed] >> text=Retry processing", timeout=60_000)
    page.screenshot(path=artefacts / "upload-failed.png", full_page=True)
    failed_id = card.get_attribute("data-video")

    headers = api_token(server, "kim")
    ready_id = server.upload(headers, clip.read_bytes())
    assert server.wait_video(headers, ready_id, {"ready", "failed"}, 120)["status"] == "ready"
    page.goto("/studio/videos")
    failed_row, ready_row = (
        page.locator(f"tr[data-video='{failed_id}']"),
        page.locator(f"tr[data-video='{ready_id}']"),
    )
    assert "failed" in failed_row.inner_text()

    ready_row.get_by_role("button", name="Edit").click()
    page.get_by_role("form", name="Edit").get_by_label("Title").fill("Renamed in the studio")
    page.get_by_role("form", name="Edit").get_by_label("Visibility").select_option("unlisted")
    page.get_by_role("button", name="Save").click()
    ready_row.locator("text=Renamed in the studio").wait_for()
    saved = server.video(headers, ready_id)
    assert (saved["title"], saved["visibility"]) == ("Renamed in the studio", "unlisted")

    ready_row.get_by_role("button", name="Claims").click()
    page.wait_for_selector("text=No Content-ID claims on this video.")

    page.once("dialog", lambda dialog: dialog.dismiss())
    failed_row.get_by_role("button", name="Delete").click()
    assert failed_row.is_visible()  # a dismissed confirmation deletes nothing
    page.once("dialog", lambda dialog: dialog.accept())
    failed_row.get_by_role("button", name="Delete").click()
    failed_row.wait_for(state="detached")
    assert httpx.get(f"{server.base}/api/v1/videos/{failed_id}", headers=headers).status_code == 404
    page.screenshot(path=artefacts / "my-videos-edited.png", full_page=True)


def test_a_content_id_claim_is_disputed_from_my_videos(
    browsing: Any, server: Serve, tmp_path: Path, artefacts: Path
) -> None:
    """A rights holder's reference claims a re-upload (the real matcher, on upload); its uploader
    disputes the claim from the claims row of My videos."""
    from support.serve import make_clip

    clip = make_clip(tmp_path / "long.mp4", 10, size="320x180")
    holder = server.user("lena", PASSWORD)
    original = server.upload(holder, clip.read_bytes())
    assert server.wait_video(holder, original, {"ready", "failed"}, 120)["status"] == "ready"
    r = httpx.post(
        f"{server.base}/api/v1/contentid/references",
        headers=holder,
        json={"video_id": original, "policy": "track"},
    )
    assert r.status_code == 201, r.text
    deadline = time.monotonic() + 60
    while (
        httpx.get(f"{server.base}/api/v1/contentid/references", headers=holder).json()[0]["status"]
        != "active"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.5)

    uploader = server.user("milo", PASSWORD)
    copy = server.upload(uploader, clip.read_bytes())
    assert server.wait_video(uploader, copy, {"ready", "failed", "blocked"}, 120)["status"] == "ready"
    deadline = time.monotonic() + 60
    while not (claims := httpx.get(f"{server.base}/api/v1/videos/{copy}/claims", headers=uploader).json()):
        assert time.monotonic() < deadline, "no claim"
        time.sleep(0.5)

    page = browsing().page()
    sign_in(page, "milo")
    page.goto("/studio/videos")
    row = page.locator(f"tr[data-video='{copy}']")
    row.get_by_role("button", name="Claims").click()
    claim = page.locator(f"li[data-claim='{claims[0]['id']}']")
    claim.get_by_label("Why the claim is wrong").fill("I filmed this myself.")
    claim.get_by_role("button", name="Dispute").click()
    page.wait_for_selector("text=disputed: I filmed this myself.")
    page.screenshot(path=artefacts / "my-videos-claim-disputed.png", full_page=True)
    after = httpx.get(f"{server.base}/api/v1/videos/{copy}/claims", headers=uploader).json()
    assert (after[0]["status"], after[0]["dispute_reason"]) == ("disputed", "I filmed this myself.")
