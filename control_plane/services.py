"""The process's backends, built once from the settings and handed to the app and the workers."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dramatiq
import sqlalchemy as sa

from control_plane.accounts import AccountService, TokenCodec
from control_plane.accounts.twofactor import TwoFactor
from control_plane.ads import AdCounters, AdServer, AdService, open_counters
from control_plane.ads.beacons import BeaconSigner
from control_plane.analytics import AnalyticsService
from control_plane.channels.closing import AccountCloser
from control_plane.channels.service import ChannelService
from control_plane.contentid import ClaimService, claim_hold
from control_plane.core.db import Database
from control_plane.core.events import EventHub
from control_plane.core.geo import GeoLookup
from control_plane.core.kv import KeyValue, open_kv
from control_plane.core.pubsub import PubSub, open_pubsub
from control_plane.core.ratelimit import RateLimiter
from control_plane.core.settings import Settings
from control_plane.feed import FeedService, build_feed, subscribe_feed
from control_plane.jobs import JobQueue
from control_plane.live.service import StreamService
from control_plane.live.viewers import ViewerCounter
from control_plane.moderation import ModerationService, screening_hold
from control_plane.moderation.access import watchable
from control_plane.notifications import Notifications, build_notifications
from control_plane.notifications import subscribe as subscribe_notifications
from control_plane.payments.domain import Payments, build_payments, is_member
from control_plane.recommendations import RecommendationService
from control_plane.search import SearchService, open_backend
from control_plane.social import Social, build_social
from control_plane.social.audience import hidden_from
from control_plane.social.events import PostCreated, PostDeleted, UserFollowed, UserUnfollowed
from control_plane.uploads.service import UploadService
from control_plane.videos import Access, JobLedger, VideoService
from control_plane.videos.catalogue import Catalogue
from control_plane.videos.playback import PlaybackTokens
from control_plane.views import Rules, ViewService, open_buffer
from storage import BlobStore, open_store
from storage.uploads import upload_store_for

__all__ = [
    "Services",
    "build_services",
    "notifications_service",
    "search_service",
    "video_service",
    "view_service",
]

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    db: Database
    store: BlobStore
    broker: dramatiq.Broker
    #: The jobs port over ``db`` and ``broker``: where the plane enqueues.
    jobs: JobQueue
    kv: KeyValue
    accounts: AccountService
    videos: VideoService
    uploads: UploadService
    claims: ClaimService
    limiter: RateLimiter
    pubsub: PubSub
    playback: PlaybackTokens
    channels: ChannelService
    catalogue: Catalogue
    #: Closes accounts; each domain that keeps something of a user registers its part (``on_close``).
    closer: AccountCloser
    #: Where domains announce committed changes and the plane's subscribers listen.
    events: EventHub
    social: Social
    search: SearchService
    #: Memberships, tips and payouts on the ledger, with the provider the settings name.
    payments: Payments
    #: The viewer's country from their address (geofencing, analytics, recommendations, ads).
    geo: GeoLookup
    views: ViewService
    analytics: AnalyticsService
    moderation: ModerationService
    recommendations: RecommendationService
    #: Ads: campaigns and creatives (``ads``), decisions and beacons (``ad_server``), and the
    #: counters they share with the other API processes (Redis in production).
    ads: AdService
    ad_server: AdServer
    ad_counters: AdCounters
    notifications: Notifications
    #: The home feed, subscribed to the posts, videos and follows it spreads.
    feed: FeedService

    def close(self) -> None:
        self.notifications.close()
        self.views.buffer.close()
        self.geo.close()
        self.pubsub.close()
        self.ad_counters.close()
        self.ad_server.close()
        self.kv.close()
        self.db.dispose()
        try:
            self.broker.close()
        except Exception:  # a broker already gone cannot be closed twice; nothing to keep
            log.debug("broker close failed", exc_info=True)


def video_service(
    db: Database,
    enqueue: Callable[..., object],
    store: BlobStore,
    jobs: JobLedger | None = None,
    events: EventHub | None = None,
) -> VideoService:
    """The video domain with the holds other domains put on a video: a blocking Content-ID claim,
    and the automated screening's hold until a moderator decides.

    Removing videos is the API's: ``build_services`` registers the other domains' removers. ``jobs``
    lets it retry (the API's processes hand it their job queue); ``events`` hears of videos ready,
    failed and published.
    """
    return VideoService(db, enqueue, store, holds=(claim_hold, screening_hold()), jobs=jobs, events=events)


def view_service(settings: Settings, db: Database, kv: KeyValue, videos: VideoService) -> ViewService:
    """Heartbeats into the buffer the settings name (Redis, else in process), flushed into the
    video rows through ``videos``; a removed video's sessions go with it."""
    rules = Rules(
        min_gap=settings.views_min_heartbeat_gap,
        window=settings.views_window,
        session_ttl=int(max(settings.views_session_idle * 2, 600)),
        per_minute=settings.views_heartbeats_per_minute,
    )
    views = ViewService(
        db,
        open_buffer(settings.redis_url, rules),
        kv,
        VideoService.add_counts,
        count_after=settings.views_count_after,
        platform_blocked=settings.geo_blocked_countries,
    )
    videos.on_remove(views.video_removed)
    return views


def notifications_service(
    settings: Settings,
    db: Database,
    pubsub: PubSub,
    enqueue: Callable[..., object],
    events: EventHub,
    kv: KeyValue,
) -> Notifications:
    """The notifications domain, its intake subscribed to every source event on ``events``."""
    notifications = build_notifications(settings, db, pubsub, enqueue, kv)
    subscribe_notifications(events, notifications.intake)
    return notifications


def search_service(db: Database, events: EventHub) -> SearchService:
    """Search over this database's index, fed with posts as they are made and deleted."""
    search = SearchService(db, open_backend(db))
    events.subscribe(PostCreated, search.post_created)
    events.subscribe(PostDeleted, search.post_deleted)
    return search


def hidden_by_social(viewer_id: str, owner: Any) -> sa.ColumnElement[bool]:
    """A catalogue ``Hide``: the owners the social graph hides from the viewer (a block either
    way, a mute)."""
    return owner.in_(hidden_from(viewer_id))


def build_services(settings: Settings, *, broker: dramatiq.Broker) -> Services:
    """Open the database, blob store and key-value store that the settings name, around ``broker``.

    ``broker`` is the Dramatiq broker the entry point made (``workers.broker.make_broker``), with
    every job type declared on it; the services own it from here (``close`` closes it). Nothing is
    contacted here beyond what the client libraries do lazily; readiness is checked by ``/readyz``
    and by the CLI's start-up checks.
    """
    db = Database(settings.effective_database_url)
    store = open_store(settings.effective_storage_url, secret=settings.secret_bytes)
    previous = tuple(secret.encode() for secret in settings.previous_secret_keys)
    codec = TokenCodec(
        settings.secret_bytes,
        issuer=settings.effective_public_url,
        ttl=settings.access_token_ttl,
        previous=previous,
    )
    kv = open_kv(settings.redis_url)
    jobs = JobQueue(db, broker, lost_after=settings.worker_heartbeat_timeout)
    events = EventHub()
    pubsub = open_pubsub(settings.redis_url)
    notifications = notifications_service(settings, db, pubsub, jobs.enqueue, events, kv)
    videos = video_service(db, jobs.enqueue, store, jobs, events)
    accounts = AccountService(
        db, codec, refresh_ttl=settings.refresh_token_ttl, twofactor=TwoFactor(settings.secret_bytes)
    )
    uploads = UploadService(db, upload_store_for(store), kv, settings, videos)
    claims = ClaimService(db, jobs.enqueue, videos, events=events)
    videos.on_remove(uploads.video_removed)
    videos.on_remove(claims.video_removed)
    videos.on_remove(notifications.service.video_removed)
    channels = ChannelService(db, store, jobs.enqueue)
    limiter = RateLimiter(kv)
    # The counts the social domain changes are shown on, and kept in, the channel and video rows.
    social = build_social(
        db, events, limiter, settings, user_counts=channels.add_counts, video_counts=videos.add_counts
    )
    channels.on_relation(social.graph.relationship)
    catalogue = Catalogue(db)
    catalogue.on_hide(hidden_by_social)
    search = search_service(db, events)
    videos.on_remove(social.video_removed)
    videos.on_remove(search.video_removed)
    closer = AccountCloser(db, accounts, store, jobs.enqueue)
    for remover in (
        StreamService(db).remove_rows_of_owner,  # first: a live stream refuses before anything goes
        social.forget_user,
        search.forget_user,
        videos.remove_rows_of_owner,
        uploads.remove_rows_of_owner,
        channels.remove_rows_of_owner,
    ):
        closer.on_close(remover)
    payments = build_payments(db, settings, events)
    # members-only videos play for the channel's members (and, as always, its owner and moderators)
    videos.grant(Access("members", lambda session, video, viewer: is_member(session, video.owner_id, viewer)))
    views = view_service(settings, db, kv, videos)
    closer.on_close(views.remove_rows_of_owner)
    peaks = ViewerCounter(kv).peak
    analytics = AnalyticsService(
        db,
        store,
        kv,
        jobs.enqueue,
        chart_ttl=settings.analytics_chart_ttl,
        earnings=payments.earned,
        streams=StreamService(db, peaks=peaks),
        peaks=peaks,
    )
    events.subscribe(UserFollowed, analytics.followed)
    events.subscribe(UserUnfollowed, analytics.unfollowed)
    # geofencing and age limits, in every list that shows videos
    screen = functools.partial(watchable, platform_blocked=settings.geo_blocked_countries)
    catalogue.on_screen(screen)
    search.on_screen(screen)
    moderation = ModerationService(db, events, accounts, videos, social)
    geo = GeoLookup(settings.geoip_db)
    playback = PlaybackTokens(settings.secret_bytes, previous, max_ttl=settings.playback_token_max_ttl)
    ads = AdService(
        db,
        payments.ads,
        jobs.enqueue,
        currency=settings.ads_currency,
        reserve_cpm=settings.ads_reserve_cpm,
    )
    videos.on_remove(ads.video_removed)
    ad_counters = open_counters(settings.redis_url)
    ad_server = AdServer(
        db,
        ad_counters,
        BeaconSigner(settings.secret_bytes),
        playback,
        geo,
        public_url=settings.effective_public_url,
        reserve_cpm=settings.ads_reserve_cpm,
        refresh_interval=settings.ads_refresh_interval,
        beacon_ttl=settings.ads_beacon_ttl,
        skip_after=settings.ads_skip_after,
        spend=payments.ads,
    )
    feed = build_feed(settings, db, kv, store, jobs.enqueue)
    subscribe_feed(events, feed)
    feed.on_screen(screen)
    return Services(
        settings=settings,
        db=db,
        store=store,
        broker=broker,
        jobs=jobs,
        kv=kv,
        accounts=accounts,
        videos=videos,
        uploads=uploads,
        claims=claims,
        limiter=limiter,
        pubsub=pubsub,
        playback=playback,
        channels=channels,
        catalogue=catalogue,
        closer=closer,
        events=events,
        social=social,
        search=search,
        payments=payments,
        geo=geo,
        views=views,
        analytics=analytics,
        moderation=moderation,
        recommendations=RecommendationService(db, store, platform_blocked=settings.geo_blocked_countries),
        ads=ads,
        ad_server=ad_server,
        ad_counters=ad_counters,
        notifications=notifications,
        feed=feed,
    )
