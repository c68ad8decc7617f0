"""The one settings object, read once at the entry point and passed down.

Every field comes from a ``SOCIALFLOW_*`` environment variable (see CONTRACT.md). With none of the
backend URLs set the platform runs on the *embedded default*: SQLite, local blobs, an in-process
broker and key-value store, and a secret generated once and kept in the data directory. As soon as
any production backend is named, the secret must be given and must not be a known default.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from control_plane.payments.config import parse_payments_url
from storage.errors import SocialFlowError

__all__ = ["ConfigError", "OidcProvider", "Settings", "load_settings", "KNOWN_WEAK_SECRETS"]

#: Secrets found in tutorials, sample files and our own compose examples: refused in production.
KNOWN_WEAK_SECRETS = frozenset(
    {
        "changeme",
        "change-me",
        "secret",
        "secret-key",
        "secretkey",
        "password",
        "socialflow",
        "dev",
        "development",
        "test",
        "insecure",
        "default",
        "please-change-me",
    }
)
MIN_SECRET_LENGTH = 32

DATABASE_SCHEMES = {"sqlite", "postgresql", "postgresql+psycopg"}
BROKER_SCHEMES = {"redis", "rediss", "amqp", "amqps"}
REDIS_SCHEMES = {"redis", "rediss"}
STORAGE_SCHEMES = {"file", "s3"}
SMTP_SCHEMES = {"smtp", "smtps"}


class ConfigError(SocialFlowError):
    """A setting is missing, malformed or unsafe. The detail is one line meant for an operator."""

    code = "CONFIG_INVALID"


def _check_scheme(value: str | None, allowed: set[str], name: str) -> str | None:
    if value is None or value == "":
        return None
    scheme = urlsplit(value).scheme
    if scheme not in allowed:
        raise ValueError(
            f"unknown {name} URL scheme {scheme!r} in {value!r} (use one of: {', '.join(sorted(allowed))})"
        )
    return value


class OidcProvider(BaseModel):
    """One social-login provider. ``preset`` names Google, GitHub or Apple, whose endpoints are
    known; ``generic`` is any OpenID Connect provider found by discovery under ``issuer``."""

    preset: Literal["google", "github", "apple", "generic"] = "generic"
    client_id: str = Field(min_length=1)
    #: The client secret (for Apple: the client-secret JWT the operator signs and renews).
    client_secret: str | None = None
    #: The issuer URL; required for ``generic``, overrides the preset's otherwise.
    issuer: str | None = None
    scopes: list[str] | None = None
    display_name: str | None = None
    #: The callback URL registered at the provider; default ``<public URL>/api/v1/auth/oidc/<name>/callback``.
    redirect_uri: str | None = None
    #: Exact URLs (query and fragment ignored) an app client may ask to be sent back to after sign-in.
    allowed_redirects: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _endpoints(self) -> OidcProvider:
        if self.preset == "generic" and not self.issuer:
            raise ValueError("a generic OIDC provider needs its issuer URL")
        for url in [u for u in (self.issuer, self.redirect_uri) if u]:
            parts = urlsplit(url)
            loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
            if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
                raise ValueError(f"{url!r} must be https (plain http only on loopback)")
        for url in self.allowed_redirects:
            parts = urlsplit(url)
            if not parts.scheme or parts.scheme.lower() in ("javascript", "data", "file", "vbscript"):
                raise ValueError(f"{url!r} is not an absolute URL an app can be sent back to")
        return self


class Settings(BaseSettings):
    """Platform settings. Paths are absolute after :func:`load_settings`; sizes are bytes."""

    model_config = SettingsConfigDict(env_prefix="SOCIALFLOW_", extra="ignore")

    data_dir: Path = Path(".socialflow")
    database_url: str | None = None
    broker_url: str | None = None
    redis_url: str | None = None
    storage_url: str | None = None
    secret_key: str | None = None
    host: str = "127.0.0.1"
    http_port: int = Field(8000, ge=0, le=65535)
    rtmp_port: int = Field(1935, ge=0, le=65535)
    #: Concurrent RTMP connections the ingest serves.
    rtmp_max_connections: int = Field(256, ge=1, le=100_000)
    #: Concurrent RTMP connections from one address (an IPv6 address counts as its /64).
    rtmp_max_connections_per_address: int = Field(16, ge=1, le=100_000)
    #: Concurrent RTMP connections that have not published yet; below ``rtmp_max_connections``.
    rtmp_max_unauthenticated: int = Field(64, ge=1, le=100_000)
    public_url: str | None = None
    #: Worker threads of the in-process broker on the embedded default.
    embedded_worker_threads: int = Field(2, ge=1, le=64)
    #: Seconds ``serve`` waits, once told to stop, for the jobs its in-process workers are running;
    #: past it (or on a second Ctrl-C) it stops and they run again on the next start.
    shutdown_grace: float = Field(30.0, ge=0.0, le=3600.0)
    access_token_ttl: int = Field(900, ge=30, description="seconds")
    refresh_token_ttl: int = Field(30 * 24 * 3600, ge=60, description="seconds")
    max_request_body: int = Field(1024 * 1024, ge=1024, description="bytes, for JSON bodies")
    log_json: bool = True
    #: Proxies (IP addresses or CIDR networks) whose X-Forwarded-For is believed.
    trusted_proxies: list[str] = Field(default_factory=list)
    #: Origins allowed to call the API from a browser (CORS); empty: none.
    cors_origins: list[str] = Field(default_factory=list)
    #: Largest single upload, bytes.
    upload_max_bytes: int = Field(20 * 1024**3, ge=1)
    #: Bytes of uploads and sources one user may keep.
    upload_quota_bytes: int = Field(200 * 1024**3, ge=1)
    #: Unfinished uploads one user may have open at once.
    upload_max_concurrent: int = Field(8, ge=1)
    #: Seconds an unfinished upload lives before the sweeper removes it.
    upload_expiry: int = Field(24 * 3600, ge=60)
    #: Videos at least this long (seconds) are transcoded in chunks spread over the workers.
    chunked_min_duration: float = Field(600.0, ge=1.0)
    #: Segments in one chunk of a chunked transcode.
    chunk_segments: int = Field(15, ge=1)
    #: Seconds between sweeps of expired uploads.
    upload_sweep_interval: float = Field(600.0, ge=1.0)
    #: Seconds a worker may go silent before it is taken for dead: a Redis broker then gives its
    #: unacknowledged messages to another worker, and the jobs sweep sends its jobs again.
    worker_heartbeat_timeout: float = Field(60.0, ge=1.0)
    #: Seconds an idle worker waits at most between looks at a queue (Dramatiq's worker timeout,
    #: whose own default is 1 s): the longest a job enqueued on an idle queue waits to be taken.
    worker_poll_interval: float = Field(0.1, ge=0.01, le=5.0)
    #: Out of a million broker commands, how many also look for dead workers' jobs (Redis broker).
    worker_maintenance_chance: int = Field(10_000, ge=1, le=1_000_000)
    #: Secrets used before ``secret_key``: tokens they signed are still accepted until they expire,
    #: nothing new is signed with them. Rotate by moving the old secret here and setting a new one.
    previous_secret_keys: list[str] = Field(default_factory=list)
    #: Requests one signed-in user may make per minute across the whole API (0: no budget).
    api_budget_per_minute: int = Field(1200, ge=0)
    #: Seconds a signed playback token of a private video is valid, at most.
    playback_token_max_ttl: int = Field(24 * 3600, ge=60)
    #: Target length of a live HLS segment, seconds (segments are cut at the publisher's keyframes).
    live_segment_seconds: float = Field(2.0, ge=0.5, le=10.0)
    #: Target length of a Low-Latency HLS part, seconds, 0.2 to 2; at most half a segment.
    live_part_seconds: float = Field(0.5, ge=0.2, le=2.0)
    #: ``PART-HOLD-BACK`` in parts: how far behind the live edge LL-HLS players stay. 2, the least
    #: RFC 8216bis allows, by default: hls.js keeps about this plus its start-up (0.3 to 0.5 s),
    #: under 1.5 s at 0.5 s parts; 3 (what the RFC recommends) leaves more margin against stalls.
    live_part_hold_back: float = Field(2.0, ge=2.0, le=10.0)
    #: Short sides (pixels) of the transcoded live renditions below each H.264 source (JSON list);
    #: a rung is made only when at most 90 % of the source's short side. Empty: passthrough only.
    live_rungs: list[int] = Field(default_factory=lambda: [720, 480, 360])
    #: STUN and TURN servers (``stun:host:port``, ``turn:host:port?transport=udp`` URLs, JSON list)
    #: for WebRTC: our own peers use them (a server behind NAT) and WHIP/WHEP answers hand them to
    #: clients in ``Link`` headers (RFC 9725), TURN with short-lived credentials. Empty: only the
    #: server's own addresses are offered.
    webrtc_ice_servers: list[str] = Field(default_factory=list)
    #: The shared secret of the TURN servers above, which must run with time-limited credentials
    #: (coturn's ``use-auth-secret`` and ``static-auth-secret``); needed when a TURN URL is set.
    webrtc_turn_secret: str | None = None
    #: Seconds a TURN credential handed out is valid (a WebRTC session can outlast it only if
    #: its TURN allocation was made in time).
    webrtc_turn_ttl: int = Field(24 * 3600, ge=60, le=7 * 24 * 3600)
    #: WHEP viewers one live stream may have at once on one ingest process.
    webrtc_max_viewers: int = Field(50, ge=1, le=10_000)
    #: Social-login providers by name (JSON), e.g. ``{"google": {"preset": "google", "client_id": ...}}``.
    oidc_providers: dict[str, OidcProvider] = Field(default_factory=dict)
    #: Where mail is sent: ``smtp://[user:password@]host[:port]`` (``smtps://`` for implicit TLS,
    #: ``?starttls=1`` for STARTTLS). Unset on the embedded default: mail is written to the log.
    smtp_url: str | None = None
    mail_from: str = "Social Flow <no-reply@localhost>"
    #: Seconds an email verification link is valid.
    email_verification_ttl: int = Field(48 * 3600, ge=60)
    #: Seconds a password reset link is valid.
    password_reset_ttl: int = Field(3600, ge=60)
    #: Posts (replies and reposts included) one user may make per hour.
    post_rate_per_hour: int = Field(300, ge=1)
    #: Comments one user may write per hour.
    comment_rate_per_hour: int = Field(600, ge=1)
    #: Follows, blocks and mutes one user may make per hour.
    follow_rate_per_hour: int = Field(400, ge=1)
    #: Seconds between runs of the trending-hashtags job.
    trend_interval: float = Field(300.0, ge=1.0)
    #: Distinct accounts that must use a tag in 24 h before it can trend.
    trend_min_accounts: int = Field(5, ge=1)
    #: Seconds for a trending tag's peak score to halve once its use stops growing.
    trend_half_life: float = Field(7200.0, ge=60.0)
    #: Seconds between refreshes of the search index from videos and accounts.
    search_refresh_interval: float = Field(30.0, ge=1.0)
    #: The payment provider: ``stripe://?api_key=sk_...&webhook_secret=whsec_...[&api_base=URL]``;
    #: unset (or ``local://``): the local provider, which moves no money. A secret: never logged.
    payments_url: SecretStr | None = None
    #: The platform's share of memberships and tips, in basis points (1/100 of a percent).
    payments_fee_bps: int = Field(3000, ge=0, le=10_000)
    #: The part of the platform's share that goes to the pool creators share by watch time (bps).
    payments_pool_bps: int = Field(5000, ge=0, le=10_000)
    #: Days a creator's earnings stay pending (refundable) before they become available.
    payments_hold_days: int = Field(7, ge=0, le=120)
    #: Days a member keeps access after a renewal fails, while the provider retries the card.
    payments_grace_days: int = Field(7, ge=0, le=60)
    #: The smallest payout, in minor units of its currency; smaller balances wait for next month.
    payments_payout_minimum: int = Field(1000, ge=1)
    #: The currencies plans and tips may use (ISO 4217, lower case).
    payments_currencies: list[str] = Field(default_factory=lambda: ["usd", "eur", "gbp", "cad", "aud", "jpy"])
    #: The largest single plan price or tip, in minor units.
    payments_max_amount: int = Field(1_000_000, ge=100)
    #: Seconds between payment maintenance runs: retry failed events, release held earnings,
    #: renew the local provider's subscriptions.
    payments_tick_interval: float = Field(300.0, ge=1.0)
    #: A MaxMind-format country database (``.mmdb``: GeoLite2/GeoIP2 Country or City, DB-IP);
    #: unset: the GeoLite2 database shipped in the ``maxminddb-geolite2`` package (2018 data).
    geoip_db: str | None = None
    #: Countries (ISO 3166-1 alpha-2, JSON list) where no video is shown at all.
    geo_blocked_countries: list[str] = Field(default_factory=list)
    #: Seconds of watching after which a view counts (the whole video when it is shorter).
    views_count_after: float = Field(10.0, ge=1.0, le=600.0)
    #: Seconds during which one viewer's views of one video count once.
    views_window: int = Field(3600, ge=60)
    #: Heartbeats closer together than this (seconds) are ignored: no player sends them.
    views_min_heartbeat_gap: float = Field(1.0, ge=0.0, le=60.0)
    #: Heartbeats one viewer (a user, or an address when anonymous) may send per minute.
    views_heartbeats_per_minute: int = Field(120, ge=1)
    #: Seconds between flushes of buffered views and watch time to the database.
    views_flush_interval: float = Field(5.0, ge=0.1)
    #: Seconds between rollups of finished sessions into retention (and pruning of old ones).
    views_rollup_interval: float = Field(600.0, ge=1.0)
    #: Seconds of silence after which a watch session is finished.
    views_session_idle: float = Field(1800.0, ge=10.0)
    #: Days raw watch sessions are kept (aggregates are kept for good).
    views_raw_retention_days: int = Field(30, ge=1)
    #: Seconds a rendered analytics chart is served from its cache before it is drawn again.
    analytics_chart_ttl: int = Field(600, ge=10)
    #: Words (JSON list) that hold a post, comment or video for review when its text has one.
    moderation_words: list[str] = Field(default_factory=list)
    #: Probability of offensive language (0..1, the classifier's) above which text is held.
    moderation_text_threshold: float = Field(0.9, ge=0.0, le=1.0)
    #: Seconds between retrainings of the recommendation model.
    recommendations_train_interval: float = Field(3600.0, ge=10.0)
    #: Days of watching the recommendation model learns from.
    recommendations_days: int = Field(30, ge=1, le=365)
    #: Seconds between runs of the pre-screening of new posts, comments and videos.
    moderation_screen_interval: float = Field(30.0, ge=1.0)

    @field_validator("geo_blocked_countries")
    @classmethod
    def _countries(cls, v: list[str]) -> list[str]:
        from control_plane.core.geo import normalize_country

        return sorted({normalize_country(code) for code in v})

    #: The currency ads are bought in (ISO 4217); every campaign's budget and bid are in it.
    ads_currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    #: The auction's reserve price: the least CPM (minor units per thousand impressions) that wins.
    ads_reserve_cpm: int = Field(50, ge=1, le=10_000_000)
    #: The share of ad spend that goes to the creator whose video carried the ad (or to the
    #: Content-ID claimant who monetizes it); the rest is the platform's.
    ads_creator_share: float = Field(0.55, ge=0.0, le=1.0)
    #: Seconds between flushes of the ad counters (Redis, or in-process) to the database.
    ads_flush_interval: float = Field(10.0, ge=0.5, le=3600.0)
    #: Seconds between refreshes of each API process's ad decision index and pacing.
    ads_refresh_interval: float = Field(2.0, ge=0.1, le=600.0)
    #: Seconds an ad's tracking URLs stay valid after it is served.
    ads_beacon_ttl: int = Field(3600, ge=60, le=7 * 86_400)
    #: Seconds into an ad after which the viewer may skip it (0: ads are not skippable).
    ads_skip_after: float = Field(5.0, ge=0.0, le=60.0)
    #: Seconds a notification is kept; the periodic sweep removes older ones.
    notification_retention: int = Field(90 * 24 * 3600, ge=3600)
    #: Seconds between sweeps of old notifications.
    notification_sweep_interval: float = Field(3600.0, ge=1.0)
    #: Seconds between looks for digests that are due.
    notification_digest_interval: float = Field(900.0, ge=1.0)
    #: Hour of the day (in each person's time zone) from which their digest goes out.
    notification_digest_hour: int = Field(8, ge=0, le=23)
    #: Seconds the events of a burst are gathered into one row of the notifications mailbox (0:
    #: one row per event, written in the producer's thread).
    notification_intake_window: float = Field(0.05, ge=0.0, le=1.0)
    #: Seconds between the API processes' looks for mailbox rows that no drain job is on its way
    #: to (a drain lost with its queue): the safety net, one index probe when the mailbox is empty.
    notification_drain_interval: float = Field(2.0, ge=0.1, le=3600.0)
    #: Seconds the mailbox's drain gate lasts unless renewed: the running drain renews it after
    #: each chunk and deletes it when done, so this is how long a lost drain holds the others off.
    notification_drain_gate_ttl: float = Field(5.0, ge=0.1, le=3600.0)
    #: Seconds a drain that found the notifications mailbox empty keeps looking (every 10 ms)
    #: before it stops: under a steady flow it takes the next batch itself, where a new job would
    #: wait for the worker's consumer to look at the queue again (up to a second when idle).
    notification_drain_linger: float = Field(0.5, ge=0.0, le=10.0)
    #: People told per job when a channel's new video or post, or its going live, fans out.
    notification_fanout_batch: int = Field(500, ge=1, le=10_000)
    #: The VAPID private key that signs Web Push (PEM or base64url). Embedded default: generated
    #: once in the data dir. Production without it: Web Push is off.
    vapid_private_key: str | None = None
    #: The VAPID contact (``mailto:`` or ``https:``); default: the https public URL, else the mail sender.
    vapid_subject: str | None = None
    #: Seconds a push service has to answer one push.
    push_timeout: float = Field(10.0, ge=0.5, le=120.0)
    #: Hosts whose plain-http push endpoints are accepted (a push service on loopback for tests);
    #: every other endpoint must be https.
    push_insecure_hosts: list[str] = Field(default_factory=list)
    #: Push subscriptions (devices) one user may have; the oldest goes past it.
    push_max_devices: int = Field(20, ge=1, le=1000)
    #: Firebase Cloud Messaging: a service account's JSON key file (mobile push; untested here).
    fcm_credentials: Path | None = None
    #: Apple push: ``{"key_file", "key_id", "team_id", "topic", "sandbox"}`` (JSON; untested here).
    apns: dict[str, str | bool] | None = None
    #: Entries a home timeline keeps (older items are read from the database).
    feed_timeline_length: int = Field(400, ge=20, le=1000)
    #: Authors with more followers than this are not pushed into timelines but pulled at read time.
    feed_push_max_followers: int = Field(10_000, ge=0)
    #: Days without a feed read after which fan-outs skip a reader and their timeline lapses.
    feed_active_days: float = Field(14.0, ge=1.0, le=90.0)
    #: Timelines written per batch of a fan-out.
    feed_fanout_batch: int = Field(1000, ge=1, le=100_000)
    #: Items of the following feed that the ranked feed scores (besides those it discovers).
    feed_ranked_candidates: int = Field(150, ge=20, le=1000)
    #: Seconds a ranked feed's order is kept for its reader to page through.
    feed_ranked_ttl: float = Field(1800.0, ge=60.0)
    #: Seconds between runs of the ranked feed's training job (``feed.train``).
    feed_train_interval: float = Field(86400.0, ge=60.0)

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, v: str | None) -> str | None:
        return _check_scheme(v, DATABASE_SCHEMES, "database")

    @field_validator("broker_url")
    @classmethod
    def _broker_scheme(cls, v: str | None) -> str | None:
        return _check_scheme(v, BROKER_SCHEMES, "broker")

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, v: str | None) -> str | None:
        return _check_scheme(v, REDIS_SCHEMES, "redis")

    @field_validator("storage_url")
    @classmethod
    def _storage_scheme(cls, v: str | None) -> str | None:
        return _check_scheme(v, STORAGE_SCHEMES, "storage")

    @field_validator("live_rungs")
    @classmethod
    def _live_rungs(cls, v: list[int]) -> list[int]:
        if len(v) > 6 or any(not 144 <= rung <= 2160 for rung in v):
            raise ValueError("give at most 6 rungs, each a short side of 144 to 2160 pixels")
        return sorted(set(v), reverse=True)

    @model_validator(mode="after")
    def _rtmp_room_for_publishers(self) -> Settings:
        if self.rtmp_max_unauthenticated >= self.rtmp_max_connections:
            raise ValueError(
                "SOCIALFLOW_RTMP_MAX_UNAUTHENTICATED must be below SOCIALFLOW_RTMP_MAX_CONNECTIONS, "
                "or connections that never publish can fill the server"
            )
        return self

    @model_validator(mode="after")
    def _live_parts_fit(self) -> Settings:
        if self.live_part_seconds > self.live_segment_seconds / 2:
            raise ValueError("live_part_seconds must be at most half of live_segment_seconds")
        return self

    @field_validator("webrtc_ice_servers")
    @classmethod
    def _ice_servers(cls, v: list[str]) -> list[str]:
        for url in v:
            if urlsplit(url).scheme not in ("stun", "stuns", "turn", "turns") or "@" in url:
                raise ValueError(f"{url!r} is not a STUN or TURN URL (stun:host:port, turn:host:port)")
        return v

    @model_validator(mode="after")
    def _turn_has_a_secret(self) -> Settings:
        turn = [url for url in self.webrtc_ice_servers if url.startswith(("turn:", "turns:"))]
        if turn and not self.webrtc_turn_secret:
            raise ValueError("TURN servers need webrtc_turn_secret (their static-auth-secret)")
        if self.webrtc_turn_secret is not None and len(self.webrtc_turn_secret) < 16:
            raise ValueError("webrtc_turn_secret must be at least 16 characters")
        return self

    @field_validator("payments_url")
    @classmethod
    def _payments_url(cls, v: SecretStr | None) -> SecretStr | None:
        parse_payments_url(v.get_secret_value() if v is not None else None)
        return v

    @field_validator("payments_currencies")
    @classmethod
    def _currencies(cls, v: list[str]) -> list[str]:
        if not v or any(len(c) != 3 or not c.isascii() or not c.isalpha() for c in v):
            raise ValueError("give ISO 4217 currency codes such as usd, eur")
        return sorted({c.lower() for c in v})

    @field_validator("smtp_url")
    @classmethod
    def _smtp_scheme(cls, v: str | None) -> str | None:
        return _check_scheme(v, SMTP_SCHEMES, "SMTP")

    @property
    def embedded(self) -> bool:
        """True when no production backend is named: one process, nothing else to install."""
        return not (self.database_url or self.broker_url or self.redis_url or self.storage_url)

    @property
    def in_process_broker(self) -> bool:
        return not self.broker_url

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'socialflow.db'}"

    @property
    def effective_storage_url(self) -> str:
        return self.storage_url or f"file://{self.data_dir / 'blobs'}"

    @property
    def effective_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.http_port}").rstrip("/")

    @property
    def secret_bytes(self) -> bytes:
        if not self.secret_key:
            raise ConfigError("no secret key: settings were not loaded through load_settings()")
        return self.secret_key.encode()


def _embedded_secret(data_dir: Path) -> str:
    """The secret kept in the data dir, created on first use with owner-only permissions."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


def check_secret(secret: str | None) -> None:
    """Refuse a missing, short or well-known secret (production only)."""
    if not secret:
        raise ConfigError(
            "SOCIALFLOW_SECRET_KEY is required outside the embedded default "
            "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    if secret.strip().lower() in KNOWN_WEAK_SECRETS:
        raise ConfigError("SOCIALFLOW_SECRET_KEY is a known default value; set a random secret")
    if len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(f"SOCIALFLOW_SECRET_KEY is too short: use at least {MIN_SECRET_LENGTH} characters")


def load_settings(**overrides: object) -> Settings:
    """Read the environment once, validate it and settle the derived values.

    Raises ConfigError with a single operator-readable line for anything wrong.
    """
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except SettingsError as exc:  # a list or mapping setting whose value is not JSON
        field = str(exc).partition('field "')[2].partition('"')[0] or "settings"
        raise ConfigError(
            f'SOCIALFLOW_{field.upper()}: not valid JSON (a list is written like ["a", "b"])'
        ) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"SOCIALFLOW_{field.upper()}: {message}") from None
    settings.data_dir = settings.data_dir.expanduser().resolve()
    if settings.embedded:
        if not settings.secret_key:
            settings.secret_key = _embedded_secret(settings.data_dir)
    else:
        check_secret(settings.secret_key)
        for previous in settings.previous_secret_keys:
            check_secret(previous)
    return settings
