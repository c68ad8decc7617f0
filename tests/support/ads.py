"""Helpers of the ads tests: advertisers, campaigns, creatives made ready by writing their rows,
VAST requests, and the schema check every VAST document of the tests goes through."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

from control_plane.ads.models import AdCreative
from control_plane.core.db import new_id
from support.platform import Platform
from support.services import service_missing
from support.social import Member, member, video_row

ROOT = Path(__file__).resolve().parents[2]
#: The IAB's schema: the copy beside the tests, else the ``shared/`` folder beside the checkout.
XSD_CANDIDATES = [
    Path(__file__).parent / "specs" / "vast_4.2.xsd",
    *(base / "shared" / "specs" / "vast_4.2.xsd" for base in (ROOT.parent, ROOT.parent.parent)),
]
NS = {"v": "http://www.iab.com/VAST"}
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"


@functools.cache
def schema() -> Any:
    import xmlschema

    found = next((path for path in XSD_CANDIDATES if path.is_file()), None)
    if found is None:
        service_missing("the VAST 4.2 schema (shared/specs/vast_4.2.xsd)")
    return xmlschema.XMLSchema(str(found))


def advertiser(platform: Platform, name: str, *, funds: int = 1_000_000) -> Member:
    """An advertiser who prepaid ``funds`` minor units into their ad balance (none with 0)."""
    made = member(platform, name, role="advertiser")
    if funds:
        fund(platform, made.headers, funds)
    return made


def fund(platform: Platform, headers: dict[str, str], amount: int) -> str:
    """Prepay ``amount`` through the local provider: the intent, then the card confirmation whose
    signed ``payment_intent.succeeded`` credits the balance. The intent's reference."""
    r = platform.client.post("/api/v1/ads/funds", headers=headers, json={"amount": amount})
    assert r.status_code == 201, r.text
    secret = r.json()["client_secret"]
    ref = secret.split("_secret_")[0]
    r = platform.client.post(f"/api/v1/payments/local/intents/{ref}/confirm", json={"client_secret": secret})
    assert r.json() == {"status": "succeeded"}, r.text
    return str(ref)


def campaign(platform: Platform, owner: Member, **fields: Any) -> str:
    body: dict[str, Any] = {"name": "Spring sale", "budget": 10_000, "currency": "USD", "cpm_bid": 500}
    body.update(fields)
    r = platform.client.post("/api/v1/ads/campaigns", headers=owner.headers, json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def ready_creative(platform: Platform, campaign_id: str, owner: Member, *, duration: float = 6.0) -> str:
    """An approved, packaged creative of ``campaign_id`` whose video row is ready (no media files:
    what these tests check is the decision, not playback)."""
    video_id = video_row(
        platform,
        owner,
        title="ad",
        visibility="private",
        duration=duration,
        outputs={"hls": "master.m3u8"},
        renditions=[{"width": 320, "height": 180, "bitrate": 400_000, "codec": "avc1"}],
    )
    creative_id = new_id()
    with platform.services.db.session() as session:
        session.add(
            AdCreative(
                id=creative_id,
                campaign_id=campaign_id,
                video_id=video_id,
                click_url="https://shop.example/spring",
                duration=duration,
                status="approved",
                mp4="ad/creative.mp4",
                mp4_width=320,
                mp4_height=180,
            )
        )
    return creative_id


def watched_video(platform: Platform, owner: Member, **columns: Any) -> str:
    """A ready public video to put ads before."""
    return video_row(platform, owner, **{"title": "watch me", **columns})


def refresh(platform: Platform) -> None:
    """Make the ad server read campaigns, spend and the video and viewer facts again now."""
    platform.services.ad_server.forget()
    platform.services.ad_server.refresh(force=True)


def vast(
    platform: Platform, video_id: str, headers: dict[str, str] | None = None, ua: str = DESKTOP
) -> ET.Element:
    """GET the VAST for ``video_id``; checks it against the IAB schema and returns its root."""
    r = platform.client.get(
        "/api/v1/ads/vast", params={"video_id": video_id}, headers={**(headers or {}), "User-Agent": ua}
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/xml")
    schema().validate(r.content)
    return ET.fromstring(r.content)


def served(root: ET.Element) -> str | None:
    """The creative id (``UniversalAdId``) of the ad in a VAST document, None when empty."""
    found = root.find(".//v:UniversalAdId", NS)
    return None if found is None else found.text


def tracking(root: ET.Element) -> dict[str, str]:
    """Event -> the path (no host) of its beacon, ``click`` included."""
    urls = {"impression": root.findtext(".//v:Impression", namespaces=NS)}
    for element in root.iterfind(".//v:Tracking", NS):
        urls[element.get("event", "")] = element.text
    urls["click"] = root.findtext(".//v:ClickThrough", namespaces=NS)
    return {event: urlsplit(str(url)).path for event, url in urls.items()}


def ping(platform: Platform, path: str) -> str:
    """Send one beacon; returns the ``Ad-Beacon`` outcome."""
    r = platform.client.get(path, follow_redirects=False)
    assert r.status_code in (204, 302), r.text
    return str(r.headers["ad-beacon"])
