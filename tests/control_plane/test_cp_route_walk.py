"""Deny by default: every route in the OpenAPI document demands a signed-in caller, except the few
that are public on purpose (each listed here with its reason)."""

from __future__ import annotations

import re

from support.platform import Platform

#: (method, path) -> why it is public.
PUBLIC = {
    ("GET", "/healthz"): "liveness probe",
    ("GET", "/readyz"): "readiness probe",
    ("GET", "/metrics"): "Prometheus scrape (bind the API privately or put it behind the gateway)",
    ("POST", "/api/v1/auth/register"): "creating an account",
    ("POST", "/api/v1/auth/login"): "signing in",
    ("POST", "/api/v1/auth/refresh"): "the refresh token is the credential",
    ("POST", "/api/v1/auth/verify-email"): "the mailed token is the credential",
    ("POST", "/api/v1/auth/password-reset"): "asking for a reset link: the mailbox is the credential",
    ("POST", "/api/v1/auth/password-reset/confirm"): "the mailed token is the credential",
    ("GET", "/verify-email"): "the page of the mailed verification link (it changes nothing)",
    ("POST", "/verify-email"): "that page's form: the mailed token is the credential",
    ("GET", "/reset-password"): "the page of the mailed reset link (it changes nothing)",
    ("POST", "/reset-password"): "that page's form: the mailed token is the credential",
    ("GET", "/api/v1/auth/oidc/providers"): "the sign-in page lists the social-login providers",
    ("GET", "/api/v1/auth/oidc/{provider}/authorize"): "starting a social sign-in",
    ("GET", "/api/v1/auth/oidc/{provider}/callback"): "the state, its browser cookie and the provider's code",
    ("POST", "/api/v1/auth/oidc/{provider}/callback"): "the same, as a form post (Apple)",
    ("POST", "/api/v1/auth/oidc/token"): "the single-use ticket (and second factor) is the credential",
    ("OPTIONS", "/api/v1/uploads/"): "tus discovery, as browsers send it without credentials",
    ("GET", "/blobs/{key}"): "the URL's signature is the credential",
    ("HEAD", "/blobs/{key}"): "the same, as a CDN or player asks first",
    ("GET", "/media/videos/{video_id}/{path}"): "playback of ready public videos, for players and CDNs",
    ("HEAD", "/media/videos/{video_id}/{path}"): "the same, as players and CDNs ask first",
    ("GET", "/media/videos/{video_id}/t/{token}/{path}"): "the signed playback token is the credential",
    ("GET", "/media/avatars/{user_id}/{version}/{name}"): "avatars are public pictures, like profiles",
    ("GET", "/api/v1/users/{username}"): "public profiles (a signed-in caller also sees their relation)",
    ("GET", "/api/v1/videos"): "the public catalogue: ready public videos only",
    ("GET", "/api/v1/videos/{video_id}"): "ready public and unlisted videos; private ones answer 404",
    ("GET", "/api/v1/live"): "the streams live now, whose playback is public",
    ("HEAD", "/media/videos/{video_id}/t/{token}/{path}"): "the same",
    ("GET", "/api/v1/live/streams/{stream_id}/chat"): "the chat WebSocket: anyone may read (HTTP: 426)",
    ("GET", "/api/v1/users/{username}/followers"): "a public profile's followers",
    ("GET", "/api/v1/users/{username}/following"): "whom a public profile follows",
    ("GET", "/api/v1/users/{username}/posts"): "a public profile's posts",
    ("GET", "/api/v1/posts/{post_id}"): "posts are public",
    ("GET", "/api/v1/posts/{post_id}/replies"): "a public post's thread",
    ("GET", "/api/v1/videos/{video_id}/comments"): "comments on a public video (404 for any other)",
    ("GET", "/api/v1/comments/{comment_id}/replies"): "a thread on a public video (404 for any other)",
    ("GET", "/api/v1/hashtags/trending"): "trends are public",
    ("GET", "/api/v1/hashtags/{tag}/posts"): "a hashtag's public posts",
    ("GET", "/api/v1/search"): "search is public (it finds only public things)",
    ("GET", "/api/v1/users/{username}/plans"): "a channel's membership plans, like its profile",
    (
        "POST",
        "/api/v1/payments/webhooks/stripe",
    ): "the provider's signature on the raw body is the credential",
    ("GET", "/api/v1/payments/local/checkout/{ref}"): "the local checkout's unguessable id is the credential",
    ("POST", "/api/v1/payments/local/checkout/{ref}"): "the same (paying on the local checkout page)",
    ("POST", "/api/v1/payments/local/intents/{ref}/confirm"): "the intent's client secret is the credential",
    ("POST", "/api/v1/payments/local/onboarding/{ref}"): "the local onboarding link's id is the credential",
    ("POST", "/api/v1/videos/{video_id}/views"): "player heartbeats: anonymous viewers' views count too",
    ("GET", "/api/v1/videos/{video_id}/related"): "what to watch next, for anyone who may see the video",
    ("GET", "/api/v1/ads/vast"): "players ask for the pre-roll of public videos for anyone watching",
    ("GET", "/api/v1/ads/vmap"): "the ad breaks of a video, for players, like its VAST",
    ("GET", "/api/v1/ads/beacons/{event}/{token}"): "the signed, single-use tracking URL is the credential",
    ("GET", "/api/v1/notifications/stream"): "the notifications WebSocket: ?access_token= (HTTP: 426)",
    ("GET", "/api/v1/push/vapid-public-key"): "the key browsers subscribe with is public by design",
    ("GET", "/api/v1/notifications/unsubscribe"): "a mail's unsubscribe page: the token is the credential",
    ("POST", "/api/v1/notifications/unsubscribe"): "one-click unsubscribe (RFC 8058): the same",
}
#: Path prefixes whose routes are public playback of live streams (viewers need no account).
PUBLIC_PREFIXES = ("/live/",)
#: Admin-only routes: a creator must get 403.
ADMIN_ONLY = {
    ("GET", "/api/v1/admin/audit"),
    ("POST", "/api/v1/ops/canary"),
    ("GET", "/api/v1/admin/payments/events"),
    ("POST", "/api/v1/admin/payments/events/{event_id}/retry"),
    ("GET", "/api/v1/admin/payments/report"),
}
#: Routes for advertisers (and those above them): a creator must get 403.
ADVERTISER_ONLY = {
    ("POST", "/api/v1/ads/campaigns"),
    ("GET", "/api/v1/ads/campaigns"),
    ("GET", "/api/v1/ads/campaigns/{campaign_id}"),
    ("PATCH", "/api/v1/ads/campaigns/{campaign_id}"),
    ("POST", "/api/v1/ads/campaigns/{campaign_id}/creatives"),
    ("GET", "/api/v1/ads/campaigns/{campaign_id}/creatives"),
    ("GET", "/api/v1/ads/campaigns/{campaign_id}/report"),
    ("POST", "/api/v1/ads/funds"),
    ("GET", "/api/v1/ads/funds"),
}
#: Moderator-only routes: a creator (and an advertiser) must get 403 too.
MODERATOR_ONLY = {
    ("GET", "/api/v1/moderation/queue"),
    ("POST", "/api/v1/moderation/reports/{report_id}/resolve"),
    ("POST", "/api/v1/moderation/appeals/{appeal_id}/decide"),
    ("GET", "/api/v1/ads/reviews"),
    ("POST", "/api/v1/ads/creatives/{creative_id}/review"),
}


def fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "0123456789abcdef0123456789abcdef", path)


def test_every_route_demands_authentication(platform: Platform) -> None:
    spec = platform.client.get("/openapi.json").json()
    checked = 0
    for path, methods in spec["paths"].items():
        for method in methods:
            key = (method.upper(), path)
            if key in PUBLIC or path.startswith(PUBLIC_PREFIXES):
                continue
            r = platform.client.request(method.upper(), fill(path), headers={"Tus-Resumable": "1.0.0"})
            assert r.status_code == 401, f"{method.upper()} {path} answered {r.status_code} without a token"
            assert r.headers["content-type"].startswith("application/problem+json")
            checked += 1
    assert checked >= 25
    for key in PUBLIC:
        assert key[1] in spec["paths"], f"public route {key} is no longer in the API; update the list"


def test_admin_routes_refuse_creators(platform: Platform) -> None:
    creator = platform.user("plain")
    for method, path in ADMIN_ONLY | MODERATOR_ONLY:
        body = {"action": "dismiss", "decision": "uphold"} if method == "POST" else None
        r = platform.client.request(method, fill(path), headers=creator, json=body)
        assert r.status_code == 403 and r.json()["code"] == "ROLE_REQUIRED", (method, path)


def test_ad_routes_refuse_the_roles_below_them(platform: Platform) -> None:
    spec = platform.client.get("/openapi.json").json()
    creator, adv = platform.user("plainer"), platform.user("adsman", role="advertiser")
    for (method, path), callers in (
        *((key, (creator,)) for key in ADVERTISER_ONLY),
        *((key, (creator, adv)) for key in MODERATOR_ONLY),
    ):
        assert method.lower() in spec["paths"][path], (method, path)
        for caller in callers:
            r = platform.client.request(method, fill(path), headers=caller, json={})
            assert r.status_code == 403 and r.json()["code"] == "ROLE_REQUIRED", (method, path, r.text)
