"""The FastAPI application factory."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from control_plane.accounts.routes import accounts, admin, oidc, pages, recovery, twofactor
from control_plane.ads import routes as ads
from control_plane.analytics import routes as analytics
from control_plane.channels import routes as channels
from control_plane.contentid import routes as contentid
from control_plane.feed import routes as feed
from control_plane.http import blobs, docs, health
from control_plane.http.middleware import (
    BodyLimitMiddleware,
    HttpMetricsMiddleware,
    RequestIdMiddleware,
    SecurityHeadersMiddleware,
)
from control_plane.http.openapi import describe
from control_plane.http.problems import install_error_handlers
from control_plane.jobs import routes as jobs
from control_plane.live import PlaybackCorsMiddleware, WhipHost
from control_plane.live.routes import chat
from control_plane.live.routes import streams as live
from control_plane.moderation import routes as moderation
from control_plane.notifications import routes as notifications
from control_plane.payments.routes import local as payments_local
from control_plane.payments.routes import money as payments
from control_plane.payments.routes import webhooks as payment_webhooks
from control_plane.recommendations import routes as recommendations
from control_plane.search import routes as search
from control_plane.services import Services
from control_plane.social.routes import comments, graph, hashtags, likes, posts
from control_plane.studio import routes as studio
from control_plane.uploads import routes as uploads
from control_plane.uploads.middleware import TusHeaderMiddleware
from control_plane.videos.routes import catalogue, media, videos
from control_plane.views import routes as views
from control_plane.views.fastpath import HeartbeatFastPath

__all__ = ["create_app", "UPLOAD_PREFIX"]

UPLOAD_PREFIX = "/api/v1/uploads"


def create_app(services: Services, *, whip: WhipHost | None = None) -> FastAPI:
    """Build the API around already-opened services. The caller owns their lifetime.

    ``whip`` holds the WHIP publishers this process receives (the live media node, handed in by
    the entry point); without one, WHIP publishes answer 503 ``WEBRTC_UNAVAILABLE``.
    """
    app = FastAPI(
        title="Social Flow",
        version="0.1.0",
        description=(
            "Self-hostable media platform: uploads, transcoding, live, Content-ID, channels, the catalogue."
        ),
        docs_url=None,  # served by control_plane.http.docs, from the package instead of a CDN
        redoc_url=None,
        # The platform's metrics are its own (Prometheus, /metrics); FastAPI's OpenTelemetry hooks
        # would look up the global providers on every request for nothing.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.services = services
    app.state.live_whip = whip
    install_error_handlers(app)
    routers = (
        docs.router,
        health.router,
        accounts.router,
        oidc.router,
        recovery.router,
        pages.router,
        twofactor.router,
        admin.router,
        jobs.router,
        blobs.router,
        uploads.router,
        catalogue.router,
        videos.router,
        media.router,
        channels.router,
        channels.files,
        contentid.router,
        live.router,
        chat.router,
        live.playback,
        graph.router,
        posts.router,
        comments.router,
        likes.router,
        hashtags.router,
        search.router,
        payments.router,
        payment_webhooks.router,
        payments_local.router,
        studio.router,
        views.router,
        analytics.router,
        moderation.router,
        recommendations.router,
        ads.router,
        notifications.router,
        notifications.me,
        notifications.bells,
        notifications.push,
        feed.router,
    )
    for router in routers:
        app.include_router(router)
    describe(app, routers, settled=[uploads.document_max_size(services.settings.upload_max_bytes)])
    settings = services.settings
    cors = cors_options(settings.cors_origins)
    hsts = settings.effective_public_url.startswith("https:")
    # Starlette runs the last-added middleware first: request ids wrap everything but the
    # heartbeats' short path.
    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.max_request_body,
        exempt=(UPLOAD_PREFIX, channels.AVATAR_PATH),  # both read their own bodies within their own bounds
    )
    app.add_middleware(TusHeaderMiddleware, prefix=UPLOAD_PREFIX)
    if cors is not None:
        app.add_middleware(CORSMiddleware, **cors)
    # Outside the site-wide CORS list: public playback answers any origin, errors included.
    app.add_middleware(PlaybackCorsMiddleware, prefix="/live/")
    app.add_middleware(SecurityHeadersMiddleware, hsts=hsts)
    app.add_middleware(HttpMetricsMiddleware)
    app.add_middleware(RequestIdMiddleware)
    # Outermost: player heartbeats, the busiest route, answered ahead of every other layer, with
    # what those layers would have added to its answers (views/fastpath.py).
    app.add_middleware(
        HeartbeatFastPath,
        services=services,
        route=next(
            r
            for r in app.state.api_routes
            if r.path == "/api/v1/videos/{video_id}/views" and "POST" in r.methods
        ),
        hsts=hsts,
        body_limit=settings.max_request_body,
        cors=cors,
    )
    return app


def cors_options(origins: list[str]) -> dict[str, Any] | None:
    """``CORSMiddleware``'s keywords for the site-wide origins list (None when empty: no CORS)."""
    if not origins:
        return None
    return {
        "allow_origins": origins,
        "allow_methods": ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        "allow_headers": [
            "Authorization",
            "Content-Type",
            "Tus-Resumable",
            "Upload-Length",
            "Upload-Offset",
            "Upload-Metadata",
            "Upload-Defer-Length",
            "Upload-Concat",
            "Upload-Checksum",
            "X-Request-ID",
        ],
        "expose_headers": [
            "Location",
            "Upload-Offset",
            "Upload-Length",
            "Upload-Expires",
            "Upload-Metadata",
            "Upload-Defer-Length",
            "Upload-Concat",
            "Tus-Resumable",
            "Tus-Version",
            "Tus-Extension",
            "Tus-Max-Size",
            "Tus-Checksum-Algorithm",
            "X-Request-ID",
            "Retry-After",
        ],
        "max_age": 600,
    }
