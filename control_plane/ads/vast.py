"""VAST 4.2 and VMAP 1.0 documents.

Written with ElementTree in the order the IAB schema (``vast_4.2.xsd``) fixes: in ``InLine``,
``AdSystem``, ``Impression``, ``AdServingId``, ``AdTitle``, ``Advertiser``, ``Creatives``; in
``Creative``, ``Linear`` before the required ``UniversalAdId``; in ``Linear``, ``TrackingEvents``
before ``Duration``, ``MediaFiles`` and ``VideoClicks``. Every document is in the VAST namespace.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree import ElementTree as ET

__all__ = [
    "VAST_NS",
    "VMAP_NS",
    "MediaFile",
    "LinearAd",
    "empty_vast",
    "vast_document",
    "vmap_document",
    "clock",
]

VAST_NS = "http://www.iab.com/VAST"
VMAP_NS = "http://www.iab.net/videosuite/vmap"
AD_SYSTEM = "Social Flow"
#: The registry named in ``UniversalAdId``: creative ids are ours.
ID_REGISTRY = "socialflow"
#: Quartile and other linear events tracked, in the order players send them.
LINEAR_EVENTS = ("start", "firstQuartile", "midpoint", "thirdQuartile", "complete", "skip")


@dataclass(frozen=True)
class MediaFile:
    url: str
    delivery: str  # progressive | streaming
    mime: str
    width: int
    height: int
    bitrate_kbps: int | None = None
    codec: str | None = None


@dataclass(frozen=True)
class LinearAd:
    """One linear ad as served: ``tracking`` maps each event (``impression``, the linear events,
    ``click``) to its beacon URL; ``click_through`` is where a click lands (our counting redirect)."""

    serving_id: str
    creative_id: str
    campaign_id: str
    title: str
    advertiser: str
    duration: float
    skip_offset: float | None
    media: tuple[MediaFile, ...]
    tracking: dict[str, str]
    click_through: str


def clock(seconds: float) -> str:
    """``HH:MM:SS.mmm`` as VAST writes times."""
    ms = max(0, round(seconds * 1000))
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    element.text = text
    return element


def _serialize(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def empty_vast() -> bytes:
    """The answer when no ad qualifies: ``<VAST version="4.2" xmlns=.../>``."""
    return _serialize(ET.Element("VAST", {"version": "4.2", "xmlns": VAST_NS}))


def vast_document(ad: LinearAd) -> bytes:
    root = ET.Element("VAST", {"version": "4.2", "xmlns": VAST_NS})
    inline = ET.SubElement(ET.SubElement(root, "Ad", {"id": ad.serving_id}), "InLine")
    _text(inline, "AdSystem", AD_SYSTEM, version="1")
    _text(inline, "Impression", ad.tracking["impression"], id="socialflow")
    _text(inline, "AdServingId", ad.serving_id)
    _text(inline, "AdTitle", ad.title)
    _text(inline, "Advertiser", ad.advertiser)
    creative = ET.SubElement(
        ET.SubElement(inline, "Creatives"),
        "Creative",
        {"id": ad.creative_id, "adId": ad.campaign_id, "sequence": "1"},
    )
    linear_attrs = {} if ad.skip_offset is None else {"skipoffset": clock(ad.skip_offset)[:8]}
    linear = ET.SubElement(creative, "Linear", linear_attrs)
    events = ET.SubElement(linear, "TrackingEvents")
    for event in LINEAR_EVENTS:
        if event == "skip" and ad.skip_offset is None:
            continue
        _text(events, "Tracking", ad.tracking[event], event=event)
    _text(linear, "Duration", clock(ad.duration))
    files = ET.SubElement(linear, "MediaFiles")
    for media in ad.media:
        attrs = {
            "delivery": media.delivery,
            "type": media.mime,
            "width": str(media.width),
            "height": str(media.height),
        }
        if media.bitrate_kbps:
            attrs["bitrate"] = str(media.bitrate_kbps)
        if media.codec:
            attrs["codec"] = media.codec
        _text(files, "MediaFile", media.url, **attrs)
    clicks = ET.SubElement(linear, "VideoClicks")
    _text(clicks, "ClickThrough", ad.click_through, id="socialflow")
    _text(creative, "UniversalAdId", ad.creative_id, idRegistry=ID_REGISTRY)
    return _serialize(root)


def vmap_document(vast_url: str) -> bytes:
    """A VMAP with one pre-roll break whose ad comes from ``vast_url`` (our VAST endpoint)."""
    root = ET.Element("vmap:VMAP", {"xmlns:vmap": VMAP_NS, "version": "1.0"})
    brk = ET.SubElement(
        root, "vmap:AdBreak", {"timeOffset": "start", "breakType": "linear", "breakId": "preroll"}
    )
    source = ET.SubElement(
        brk, "vmap:AdSource", {"id": "preroll-1", "allowMultipleAds": "false", "followRedirects": "true"}
    )
    _text(source, "vmap:AdTagURI", vast_url, templateType="vast4")
    return _serialize(root)
