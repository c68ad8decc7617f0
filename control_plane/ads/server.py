"""AdServer: the ad decision behind ``GET /api/v1/ads/vast``, and the beacons that count deliveries.

A decision reads nothing from the database on its fast path: the campaigns come from this process's
decision index (re-read in the background when a campaign or creative changed, and at least every
``FULL_RELOAD`` seconds), the watched video's facts and the viewer's from short-lived caches.
The shared state that must hold across processes (frequency caps, budgets, the viewer's last ad,
single-use beacons) is one atomic step of the counters per check.
"""

from __future__ import annotations

import logging
import random
import secrets
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

from control_plane.accounts.models import User
from control_plane.ads.auction import Bid, second_price
from control_plane.ads.beacons import Beacon, BeaconSigner
from control_plane.ads.counters import AdCounters, Admission
from control_plane.ads.errors import CampaignNotFound
from control_plane.ads.index import CampaignEntry, CreativeEntry, DecisionIndex, Pacer, Request
from control_plane.ads.models import AdCampaign, AdCreative, AdViewerProfile
from control_plane.ads.spend import AdSpend
from control_plane.ads.vast import LinearAd, MediaFile, empty_vast, vast_document
from control_plane.ads.viewers import anonymous_key, device_of
from control_plane.contentid.models import Claim
from control_plane.core.db import Database
from control_plane.core.errors import NotFound
from control_plane.core.geo import UNKNOWN, GeoLookup
from control_plane.social.audience import LISTED, hidden_from
from control_plane.social.models import Block, Comment, VideoLike
from control_plane.videos.models import Video
from control_plane.videos.playback import PlaybackTokens

__all__ = ["AdServer", "Viewer", "VideoFacts", "TTLCache", "load_entries"]

log = logging.getLogger(__name__)

#: Seconds between full re-reads of the campaigns even when nothing seems changed (a deleted row
#: leaves no newer ``updated_at`` behind).
FULL_RELOAD = 30.0
#: Seconds the facts of a watched video and of a viewer are kept.
VIDEO_FACTS_TTL = 5.0
VIEWER_FACTS_TTL = 30.0
#: Categories of a viewer's history that count as their interests.
TOP_INTERESTS = 5
K = TypeVar("K")
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    """A small LRU whose entries are fresh for ``ttl`` seconds. A stale entry is still answered
    while one background thread loads it again (stale-while-revalidate), so only the first
    request for a key waits for its load; entries unused for ``10 * ttl`` are loaded in line."""

    def __init__(self, ttl: float, size: int = 10_000) -> None:
        self.ttl, self.size = ttl, size
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()
        self._pending: set[K] = set()
        self._pool: ThreadPoolExecutor | None = None

    def _store(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = (time.monotonic() + self.ttl, value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def _reload(self, key: K, load: Callable[[], V]) -> None:
        try:
            self._store(key, load())
        except Exception:  # the stale value stays; the next request tries again
            log.exception("ads cache reload failed")
        finally:
            with self._lock:
                self._pending.discard(key)

    def get(self, key: K, load: Callable[[], V]) -> V:
        now = time.monotonic()
        with self._lock:
            item = self._items.get(key)
            if item is not None and item[0] > now:
                return item[1]
            if item is not None and item[0] + 9 * self.ttl > now:
                if key not in self._pending:
                    self._pending.add(key)
                    if self._pool is None:
                        self._pool = ThreadPoolExecutor(1, thread_name_prefix="ads-cache")
                    self._pool.submit(self._reload, key, load)
                return item[1]
        value = load()
        self._store(key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True)
class Viewer:
    """Who asks for an ad: a user (None: signed out), whether they moderate, their address and
    User-Agent."""

    user_id: str | None
    moderator: bool
    address: str
    user_agent: str

    @property
    def key(self) -> str:
        return f"u:{self.user_id}" if self.user_id else anonymous_key(self.address, self.user_agent)


@dataclass(frozen=True)
class VideoFacts:
    id: str
    owner_id: str
    status: str
    visibility: str
    category: str | None
    #: Whether ads may run on it: ready, public or unlisted, not age-restricted, no open claim.
    carries_ads: bool
    #: Accounts blocked by the owner or blocking them: their ads never run on this video.
    owner_hidden: frozenset[str]


@dataclass(frozen=True)
class ViewerFacts:
    audiences: frozenset[str]
    interests: frozenset[str]
    age: int | None
    hidden: frozenset[str]


def load_entries(db: Database, now: datetime) -> list[CampaignEntry]:
    """Every campaign that may serve: active, not over, with an approved creative whose video is
    ready and whose MP4 is made."""
    with db.session() as session:
        campaigns = session.execute(
            sa.select(AdCampaign, User.username)
            .join(User, User.id == AdCampaign.advertiser_id)
            .where(
                AdCampaign.status == "active",
                User.is_active.is_(True),
                sa.or_(AdCampaign.ends_at.is_(None), AdCampaign.ends_at > now),
            )
        ).all()
        creatives = session.execute(
            sa.select(AdCreative, Video.outputs, Video.renditions)
            .join(Video, Video.id == AdCreative.video_id)
            .join(AdCampaign, AdCampaign.id == AdCreative.campaign_id)
            .where(
                AdCampaign.status == "active",
                AdCreative.status == "approved",
                AdCreative.mp4.is_not(None),
                Video.status == "ready",
            )
        ).all()
    by_campaign: dict[str, list[CreativeEntry]] = {}
    for creative, outputs, renditions in creatives:
        hls = (outputs or {}).get("hls")
        if not hls:
            continue
        video_bitrates = [r.get("bitrate") for r in renditions or [] if r.get("width")]
        by_campaign.setdefault(creative.campaign_id, []).append(
            CreativeEntry(
                id=creative.id,
                video_id=creative.video_id,
                click_url=creative.click_url,
                duration=creative.duration,
                hls=hls,
                mp4=str(creative.mp4),
                width=creative.mp4_width or 0,
                height=creative.mp4_height or 0,
                bitrate=max((b for b in video_bitrates if b), default=None),
            )
        )
    entries = []
    for campaign, username in campaigns:
        found = by_campaign.get(campaign.id)
        if not found:
            continue
        t = campaign.targeting or {}
        entries.append(
            CampaignEntry(
                id=campaign.id,
                advertiser_id=campaign.advertiser_id,
                advertiser=username,
                name=campaign.name,
                ecpm=campaign.cpm_bid,
                budget_millis=campaign.budget * 1000,
                daily_millis=None if campaign.daily_budget is None else campaign.daily_budget * 1000,
                cap=campaign.cap_impressions,
                period_s=campaign.cap_seconds or 0,
                starts_at=campaign.starts_at.timestamp(),
                ends_at=campaign.ends_at.timestamp() if campaign.ends_at else None,
                countries=frozenset(t.get("countries") or ()),
                devices=frozenset(t.get("devices") or ()),
                audiences=frozenset(t.get("audiences") or ()),
                interests=frozenset(t.get("interests") or ()),
                age_min=t.get("age_min"),
                age_max=t.get("age_max"),
                excluded=frozenset(campaign.excluded_categories or ()),
                creatives=tuple(sorted(found, key=lambda c: c.id)),
            )
        )
    return entries


def admission(entry: CampaignEntry, funds: dict[str, int] | None = None) -> Admission:
    """The counters' view of a campaign; ``funds`` (advertiser -> millis ever deposited, net) holds
    it to its advertiser's balance too (an advertiser missing from it has none)."""
    return Admission(
        campaign=entry.id,
        budget_millis=entry.budget_millis,
        daily_millis=entry.daily_millis,
        cap=entry.cap,
        period_ms=entry.period_s * 1000,
        bound=entry.ecpm,
        account=entry.advertiser_id,
        funds_millis=None if funds is None else funds.get(entry.advertiser_id, 0),
    )


def funds_of(db: Database, spend: AdSpend, advertisers: list[str]) -> tuple[dict[str, int], dict[str, int]]:
    """What each advertiser ever deposited (net of refunds), in millis, and what their campaigns'
    flushes recorded (millis). The deposits are the ledger balance plus the whole minor units the
    flushes booked from it (``spent_millis // 1000`` per campaign), read in one snapshot so a
    flush committing in between cannot make them disagree."""
    if not advertisers:
        return {}, {}
    with db.session() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        rows = session.execute(
            sa.select(
                AdCampaign.advertiser_id,
                sa.func.sum(AdCampaign.spent_millis // 1000),
                sa.func.sum(AdCampaign.spent_millis),
            )
            .where(AdCampaign.advertiser_id.in_(advertisers))
            .group_by(AdCampaign.advertiser_id)
        ).all()
        balances = spend.balances(session, advertisers)
    booked = {a: int(b or 0) for a, b, _ in rows}
    flushed = {a: int(f or 0) for a, _, f in rows}
    funds = {a: (balances.get(a, 0) + booked.get(a, 0)) * 1000 for a in advertisers}
    return funds, flushed


class AdServer:
    """Decides which ad a viewer sees before a video, and counts what the player reports back."""

    def __init__(
        self,
        db: Database,
        counters: AdCounters,
        signer: BeaconSigner,
        playback: PlaybackTokens,
        geo: GeoLookup,
        *,
        public_url: str,
        reserve_cpm: int,
        refresh_interval: float = 2.0,
        beacon_ttl: int = 3600,
        skip_after: float = 5.0,
        clock: Callable[[], float] = time.time,
        is_member: Callable[[str], bool] = lambda _user_id: False,
        spend: AdSpend | None = None,
    ) -> None:
        self.db, self.counters, self.signer, self.playback, self.geo = db, counters, signer, playback, geo
        self.public_url = public_url.rstrip("/")
        self.reserve_cpm, self.refresh_interval = reserve_cpm, refresh_interval
        self.beacon_ttl, self.skip_after, self.clock = beacon_ttl, skip_after, clock
        #: Paying members see the ``members`` audience's ads (the payments domain answers).
        self.is_member = spend.is_member if spend is not None else is_member
        #: Advertisers' balances hold spend (None: unchecked, for the benchmarks' bare server).
        self.spend = spend
        #: Advertiser -> millis ever deposited, refreshed with the index.
        self.funds: dict[str, int] | None = None if spend is None else {}
        self.pacer = Pacer()
        self.index = DecisionIndex.build([])
        self.spent_mask = 0
        self._entries: dict[str, CampaignEntry] = {}
        self._signature: tuple[Any, ...] | None = None
        self._loaded_at = self._refreshed_at = float("-inf")
        self._refresh_lock = threading.Lock()
        self._videos: TTLCache[str, VideoFacts | None] = TTLCache(VIDEO_FACTS_TTL)
        self._viewers: TTLCache[str, ViewerFacts] = TTLCache(VIEWER_FACTS_TTL)
        self._tokens: dict[str, tuple[str, int]] = {}
        self.stats: Counter[str] = Counter()

    # -- the index --------------------------------------------------------------------------

    def _changes(self) -> tuple[Any, ...]:
        with self.db.session() as session:
            campaigns = session.execute(
                sa.select(sa.func.max(AdCampaign.updated_at), sa.func.count()).select_from(AdCampaign)
            ).one()
            creatives = session.execute(
                sa.select(sa.func.max(AdCreative.updated_at), sa.func.count()).select_from(AdCreative)
            ).one()
        return (*campaigns, *creatives)

    def refresh(self, *, force: bool = False) -> None:
        """Re-read the campaigns if any changed (or ``force``), then spend and pacing."""
        now = self.clock()
        signature = self._changes()
        if force or signature != self._signature or now - self._loaded_at >= FULL_RELOAD:
            entries = load_entries(self.db, datetime.fromtimestamp(now, UTC))
            self.index = DecisionIndex.build(entries)
            self._entries = {e.id: e for e in entries}
            self._signature, self._loaded_at = signature, now
        index = self.index
        total, today = self.counters.spent(time.strftime("%Y-%m-%d", time.gmtime(now)))
        funds = self.funds
        flushed: dict[str, int] = {}
        accounts: dict[str, int] = {}
        if self.spend is not None:
            funds, flushed = funds_of(self.db, self.spend, sorted({e.advertiser_id for e in index.entries}))
            accounts = self.counters.accounts()
            self.funds = funds
        missing = [e.id for e in index.entries if e.id not in total]
        lost = {a: f for a, f in flushed.items() if a not in accounts and f}
        if missing or lost:  # counters that lost their state (a new Redis) start from what was flushed
            with self.db.session() as session:
                rows = session.execute(
                    sa.select(AdCampaign.id, AdCampaign.spent_millis).where(AdCampaign.id.in_(missing))
                )
                self.counters.seed({campaign: int(spent) for campaign, spent in rows if spent}, lost)
        spent = [
            e.id
            for e in index.entries
            if total.get(e.id, 0) + e.ecpm > e.budget_millis
            or (e.daily_millis is not None and today.get(e.id, 0) + e.ecpm > e.daily_millis)
            or (
                funds is not None
                and accounts.get(e.advertiser_id, 0) + e.ecpm > funds.get(e.advertiser_id, 0)
            )
        ]
        self.pacer.update(index.entries, total, today, now)
        self.spent_mask = index.bits(spent)
        self._refreshed_at = now

    def _current(self, now: float) -> DecisionIndex:
        if now - self._refreshed_at < self.refresh_interval:
            return self.index
        if self._refreshed_at == float("-inf"):
            with self._refresh_lock:
                if self._refreshed_at == float("-inf"):
                    self.refresh(force=True)
            return self.index
        if self._refresh_lock.acquire(blocking=False):
            threading.Thread(target=self._background_refresh, name="ads-refresh", daemon=True).start()
        return self.index

    def _background_refresh(self) -> None:
        try:
            self.refresh()
        except Exception:  # the next decision tries again; serving goes on with the last index
            log.exception("ads index refresh failed")
        finally:
            self._refresh_lock.release()

    def close(self) -> None:
        self._videos.close()
        self._viewers.close()
        self.geo.close()

    def forget(self) -> None:
        """Drop every cache, so the next decision reads everything again (tests, operators)."""
        self._videos.clear()
        self._viewers.clear()
        self._refreshed_at = float("-inf")

    # -- facts ------------------------------------------------------------------------------

    def _video(self, video_id: str) -> VideoFacts | None:
        def load() -> VideoFacts | None:
            with self.db.session() as session:
                video = session.get(Video, video_id)
                if video is None:
                    return None
                claims = session.execute(
                    sa.select(Claim.policy, Claim.status).where(
                        Claim.video_id == video_id, Claim.status.in_(("active", "disputed", "upheld"))
                    )
                ).all()
                open_claim = any(p != "monetize" or s == "disputed" for p, s in claims)
                blocks = session.execute(
                    sa.select(Block.blocker_id, Block.blocked_id).where(
                        sa.or_(Block.blocker_id == video.owner_id, Block.blocked_id == video.owner_id)
                    )
                ).all()
                return VideoFacts(
                    id=video.id,
                    owner_id=video.owner_id,
                    status=video.status,
                    visibility=video.visibility,
                    category=video.category,
                    carries_ads=video.status == "ready"
                    and video.visibility in LISTED
                    and not video.age_restricted
                    and not open_claim,
                    owner_hidden=frozenset(a if b == video.owner_id else b for a, b in blocks),
                )

        return self._videos.get(video_id, load)

    def _viewer(self, user_id: str) -> ViewerFacts:
        def load() -> ViewerFacts:
            with self.db.session() as session:
                history = (
                    sa.select(Video.category)
                    .join(VideoLike, VideoLike.video_id == Video.id)
                    .where(VideoLike.user_id == user_id, Video.category.is_not(None))
                    .union_all(
                        sa.select(Video.category)
                        .join(Comment, Comment.video_id == Video.id)
                        .where(Comment.author_id == user_id, Video.category.is_not(None))
                    )
                    .limit(500)
                )
                seen = Counter(session.scalars(history))
                creator = session.scalar(
                    sa.select(Video.id).where(Video.owner_id == user_id, Video.status == "ready").limit(1)
                )
                profile = session.get(AdViewerProfile, user_id)
                hidden = frozenset(session.scalars(hidden_from(user_id)))
            audiences = {"members" if self.is_member(user_id) else "free"}
            if creator is not None:
                audiences.add("creators")
            age = None
            if profile is not None and profile.birth_year:
                age = datetime.fromtimestamp(self.clock(), UTC).year - profile.birth_year
            return ViewerFacts(
                audiences=frozenset(audiences),
                interests=frozenset(c for c, _ in seen.most_common(TOP_INTERESTS) if c),
                age=age,
                hidden=hidden,
            )

        return self._viewers.get(user_id, load)

    # -- the decision ---------------------------------------------------------------------------

    def decide(self, video_id: str, viewer: Viewer) -> bytes:
        """A VAST 4.2 document for a pre-roll before ``video_id``, or the empty VAST.

        ``NotFound`` (404) when the viewer may not see the video at all.
        """
        now = self.clock()
        video = self._video(video_id)
        mine = video is not None and (viewer.moderator or video.owner_id == viewer.user_id)
        if video is None or not (mine or (video.status == "ready" and video.visibility in LISTED)):
            raise NotFound("No such video.", code="VIDEO_NOT_FOUND")
        facts = self._viewer(viewer.user_id) if viewer.user_id else None
        if facts is not None and video.owner_id in facts.hidden and not mine:
            raise NotFound("No such video.", code="VIDEO_NOT_FOUND")
        if not video.carries_ads:
            self.stats["unsafe"] += 1
            return empty_vast()
        index = self._current(now)
        request = Request(
            country=known(self.geo.country(viewer.address)),
            device=device_of(viewer.user_agent),
            audiences=facts.audiences if facts else frozenset({"free"}),
            interests=facts.interests if facts else frozenset(),
            age=facts.age if facts else None,
            category=video.category,
            hidden=(facts.hidden if facts else frozenset()) | video.owner_hidden,
        )
        ad = self.choose(index, request, viewer.key, video, now)
        return empty_vast() if ad is None else vast_document(ad)

    def candidates(self, index: DecisionIndex, request: Request, now: float) -> Iterator[CampaignEntry]:
        """The campaigns in the auction for ``request``, best eCPM first: targeting, schedule,
        blocks, spend and the pacing throttle applied (the benchmark swaps in an SQL query)."""
        return index.candidates(request, now, without=self.spent_mask, keep=self.pacer.keep())

    def choose(
        self, index: DecisionIndex, request: Request, viewer_key: str, video: VideoFacts, now: float
    ) -> LinearAd | None:
        """Run the auction for one request; the winner's cap slot is taken and it becomes the
        viewer's last ad. None when no campaign wins."""
        last = self.counters.last_ad(viewer_key)
        day = time.strftime("%Y-%m-%d", time.gmtime(now))
        now_ms = int(now * 1000)
        serving = secrets.token_hex(12)

        def bids() -> Iterator[Bid[tuple[CampaignEntry, CreativeEntry]]]:
            for entry in self.candidates(index, request, now):
                choices = [c for c in entry.creatives if c.id != last]
                if choices:
                    yield Bid(entry.ecpm, (entry, random.choice(choices)))

        def admit(bid: Bid[tuple[CampaignEntry, CreativeEntry]]) -> bool:
            entry, creative = bid.item
            return self.counters.admit(
                admission(entry, self.funds),
                viewer_key,
                day=day,
                now_ms=now_ms,
                take=serving,
                creative=creative.id,
            )

        def eligible(bid: Bid[tuple[CampaignEntry, CreativeEntry]]) -> bool:
            return self.counters.admit(admission(bid.item[0], self.funds), viewer_key, day=day, now_ms=now_ms)

        outcome = second_price(bids(), self.reserve_cpm, admit, eligible)
        if outcome is None:
            self.stats["empty"] += 1
            return None
        self.stats["served"] += 1
        entry, creative = outcome.winner.item
        return self._linear(serving, entry, creative, video.id, outcome.price, int(now))

    def _playback_token(self, video_id: str, now: int) -> str:
        cached = self._tokens.get(video_id)
        if cached is not None and cached[1] - now > 600:
            return cached[0]
        token, expires = self.playback.issue(video_id, 3 * 3600)
        self._tokens[video_id] = (token, expires)
        return token

    def _linear(
        self, serving: str, entry: CampaignEntry, creative: CreativeEntry, video_id: str, price: int, now: int
    ) -> LinearAd:
        beacon = Beacon(serving, entry.id, creative.id, video_id, price, now + self.beacon_ttl)
        base = f"{self.public_url}/api/v1/ads/beacons"
        tracking = {
            event: f"{base}/{event}/{self.signer.sign(event, beacon)}"
            for event in (
                "impression",
                "start",
                "firstQuartile",
                "midpoint",
                "thirdQuartile",
                "complete",
                "skip",
            )
        }
        token = self._playback_token(creative.video_id, now)
        media_base = f"{self.public_url}/media/videos/{creative.video_id}/t/{token}"
        media = (
            MediaFile(
                f"{media_base}/{creative.mp4}",
                "progressive",
                "video/mp4",
                creative.width,
                creative.height,
                bitrate_kbps=(creative.bitrate // 1000) if creative.bitrate else None,
                codec="avc1.42E01E",
            ),
            MediaFile(
                f"{media_base}/{creative.hls}",
                "streaming",
                "application/x-mpegURL",
                creative.width,
                creative.height,
            ),
        )
        skip = self.skip_after if 0 < self.skip_after < creative.duration else None
        return LinearAd(
            serving_id=serving,
            creative_id=creative.id,
            campaign_id=entry.id,
            title=entry.name,
            advertiser=entry.advertiser,
            duration=creative.duration,
            skip_offset=skip,
            media=media,
            tracking=tracking,
            click_through=f"{base}/click/{self.signer.sign('click', beacon)}",
        )

    # -- tracking -------------------------------------------------------------------------------

    def _entry(self, campaign_id: str) -> tuple[Admission, dict[str, str]]:
        entry = self._entries.get(campaign_id)
        funds = self.funds
        if entry is not None and (funds is None or entry.advertiser_id in funds):
            return admission(entry, funds), {c.id: c.click_url for c in entry.creatives}
        with self.db.session() as session:  # paused or changed since it was served: its row decides
            campaign = session.get(AdCampaign, campaign_id)
            if campaign is None:
                raise CampaignNotFound("The campaign of this ad is gone.")
            rows = session.execute(
                sa.select(AdCreative.id, AdCreative.click_url).where(AdCreative.campaign_id == campaign_id)
            )
            urls = {creative_id: url for creative_id, url in rows}
            advertiser_id = campaign.advertiser_id
        account = None
        if self.spend is not None:
            account = funds_of(self.db, self.spend, [advertiser_id])[0].get(advertiser_id, 0)
        return (
            Admission(
                campaign=campaign.id,
                budget_millis=campaign.budget * 1000,
                daily_millis=None if campaign.daily_budget is None else campaign.daily_budget * 1000,
                cap=campaign.cap_impressions,
                period_ms=(campaign.cap_seconds or 0) * 1000,
                bound=campaign.cpm_bid,
                account=advertiser_id,
                funds_millis=account,
            ),
            urls,
        )

    def track(self, event: str, token: str) -> tuple[str, str | None]:
        """Count one beacon: ``counted``, ``repeat`` or ``out_of_order`` (an impression beyond the
        budget is ``counted`` but not charged, ``unpaid``), and for a click where it leads."""
        beacon = self.signer.verify(event, token, now=self.clock())
        day = time.strftime("%Y-%m-%d", time.gmtime(self.clock()))
        adm, urls = self._entry(beacon.campaign)
        ttl_ms = self.beacon_ttl * 1000
        if event == "impression":
            result = self.counters.impression(
                beacon.serving, adm, price=beacon.price, video=beacon.video, day=day, ttl_ms=ttl_ms
            )
            outcome = {0: "repeat", 1: "unpaid", 2: "counted"}[result]
        else:
            result = self.counters.event(beacon.serving, beacon.campaign, event, day=day, ttl_ms=ttl_ms)
            outcome = {-1: "out_of_order", 0: "repeat", 1: "counted"}[result]
        return outcome, urls.get(beacon.creative) if event == "click" else None


def known(country: str) -> str | None:
    """The country for targeting; None where the lookup could not place the viewer."""
    return None if country == UNKNOWN else country
