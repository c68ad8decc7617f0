"""The notifications routes: the inbox, marking read, the WebSocket, preferences, conversation
mutes, channel bells, push subscriptions, and the one-click unsubscribe of mails."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from control_plane.core.errors import ProblemError
from control_plane.http.deps import PrincipalDep, ServicesDep
from control_plane.http.htmlpage import html, page
from control_plane.http.openapi import problems
from control_plane.http.pagination import Page, PageDep
from control_plane.notifications.devices import PushNotConfigured
from control_plane.notifications.mail import DIGEST, BadUnsubscribeToken
from control_plane.notifications.schemas import (
    NotificationOut,
    PreferencesIn,
    PreferencesOut,
    PushSubscriptionIn,
    PushSubscriptionOut,
    ReadIn,
    UnreadOut,
    VapidKeyOut,
)
from control_plane.services import Services
from control_plane.social.routes import Username

__all__ = ["PROTOCOL", "router", "me", "push", "bells"]

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])
me = APIRouter(prefix="/api/v1/users/me", tags=["notifications"])
bells = APIRouter(prefix="/api/v1/users", tags=["notifications"])
push = APIRouter(prefix="/api/v1/push", tags=["notifications"])

CLOSE_UNAUTHORIZED = 4401
SubjectId = Annotated[str, Path(pattern="^[0-9a-f]{32}$", description="32 hexadecimal digits")]
Token = Annotated[str | None, Query(max_length=1024, description="the token of the mailed link")]

PROTOCOL = """Switching to the WebSocket protocol. Send the access token as `?access_token=`, and
`?after=` the id of the last notification this client saw to be sent what it missed first. The
server sends JSON text frames: `{"event": "unread", "unread"}` first and whenever the count
changes by a read; `{"event": "notification", "notification": {...as in the list}, "unread",
"replaces"}` for each new notification (`replaces`: the id of the group it takes the place of, or
null). The socket closes with 4401 for a missing or invalid token, and when the token expires."""


class WebSocketRequired(ProblemError):
    status, code, title = 426, "WEBSOCKET_REQUIRED", "Upgrade Required"


# -- the inbox ------------------------------------------------------------------------------


@router.get("", response_model=Page[NotificationOut])
def inbox(
    page: PageDep,
    principal: PrincipalDep,
    services: ServicesDep,
    unread: Annotated[bool, Query(description="only the unread ones")] = False,
) -> Page[NotificationOut]:
    """The caller's notifications, newest first."""
    items, cursor = services.notifications.inboxes.page(principal.user.id, page, unread=unread)
    return Page(items=[NotificationOut.model_validate(i) for i in items], next_cursor=cursor)


@router.get("/unread-count", response_model=UnreadOut)
def unread_count(principal: PrincipalDep, services: ServicesDep) -> UnreadOut:
    return UnreadOut(unread=services.notifications.inboxes.unread(principal.user.id))


@router.post("/read", response_model=UnreadOut)
def mark_read(body: ReadIn, principal: PrincipalDep, services: ServicesDep) -> UnreadOut:
    """Every notification up to ``up_to`` (an id) is read; answers the unread count left."""
    return UnreadOut(unread=services.notifications.inboxes.mark_read(principal.user.id, body.up_to))


# -- real time ------------------------------------------------------------------------------


@router.get(
    "/stream",
    status_code=101,
    response_class=Response,
    responses={101: {"description": PROTOCOL}, **problems(426)},
    summary="New notifications as they come (WebSocket)",
)
def stream_over_http(
    access_token: Annotated[str | None, Query(max_length=4096)] = None,
    after: Annotated[int | None, Query(ge=0, le=2**53 - 1)] = None,
) -> Response:
    """The caller's new notifications, a WebSocket: open this URL with ``ws://`` or ``wss://``."""
    raise WebSocketRequired(
        "The notifications stream is a WebSocket: open this URL with ws:// or wss://.",
        headers={"Upgrade": "websocket", "Connection": "Upgrade"},
    )


@router.websocket("/stream")
async def stream(websocket: WebSocket, access_token: str | None = None, after: int | None = None) -> None:
    services: Services = websocket.app.state.services
    notifications = services.notifications
    if not access_token:
        await websocket.close(code=CLOSE_UNAUTHORIZED)
        return
    try:
        user, claims = await run_in_threadpool(services.accounts.authenticate, access_token)
    except ProblemError:
        await websocket.close(code=CLOSE_UNAUTHORIZED)
        return
    await websocket.accept()
    sub = await notifications.dispatcher.register(user.id)
    reader = asyncio.create_task(_drain(websocket))
    try:
        unread = await run_in_threadpool(notifications.inboxes.unread, user.id)
        await websocket.send_text(json.dumps({"event": "unread", "unread": unread}))
        last = after or 0
        if after is not None:
            for view in await run_in_threadpool(notifications.inboxes.since, user.id, after):
                await websocket.send_text(
                    json.dumps(
                        {"event": "notification", "notification": view, "unread": unread, "replaces": None}
                    )
                )
                last = max(last, view["id"])
        expires_in = claims.expires_at - time.time()
        deadline = asyncio.get_running_loop().time() + expires_in
        while not reader.done():
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                await websocket.close(code=CLOSE_UNAUTHORIZED)
                break
            getter = asyncio.ensure_future(sub.get())
            done, _ = await asyncio.wait({getter, reader}, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                continue
            message = getter.result()
            parsed = json.loads(message)
            notification = parsed.get("notification")
            if notification is not None and notification["id"] <= last:
                continue  # sent already by the catch-up
            parsed.pop("user", None)
            await websocket.send_text(json.dumps(parsed))
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        notifications.dispatcher.unregister(sub)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, until it goes."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await websocket.receive_text()


# -- preferences, mutes, bells --------------------------------------------------------------


@me.get("/notification-preferences", response_model=PreferencesOut)
def get_preferences(principal: PrincipalDep, services: ServicesDep) -> PreferencesOut:
    """Every type with its channels (defaults included), the digest, time zone and quiet hours."""
    prefs = services.notifications.preferences.get(principal.user.id)
    return PreferencesOut.model_validate(prefs.document())


@me.put("/notification-preferences", response_model=PreferencesOut)
def put_preferences(body: PreferencesIn, principal: PrincipalDep, services: ServicesDep) -> PreferencesOut:
    """Change the preferences given; the rest stay. 422 for an unknown time zone."""
    changes = body.model_dump(exclude_unset=True)
    prefs = services.notifications.preferences.update(principal.user.id, changes)
    return PreferencesOut.model_validate(prefs.document())


@router.put("/mutes/{kind}/{subject_id}", status_code=204, response_class=Response)
def mute_conversation(
    kind: Literal["post", "video"], subject_id: SubjectId, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """No more notifications about this post's thread (any post of it) or this video's comments."""
    services.notifications.preferences.mute(principal.user.id, kind, subject_id, True)
    return Response(status_code=204)


@router.delete("/mutes/{kind}/{subject_id}", status_code=204, response_class=Response)
def unmute_conversation(
    kind: Literal["post", "video"], subject_id: SubjectId, principal: PrincipalDep, services: ServicesDep
) -> Response:
    services.notifications.preferences.mute(principal.user.id, kind, subject_id, False)
    return Response(status_code=204)


@bells.put("/{username}/bell", status_code=204, response_class=Response)
def ring_bell(username: Username, principal: PrincipalDep, services: ServicesDep) -> Response:
    """Be notified of every new video and post of this channel (idempotent)."""
    services.notifications.preferences.bell(principal.user.id, username, True)
    return Response(status_code=204)


@bells.delete("/{username}/bell", status_code=204, response_class=Response)
def silence_bell(username: Username, principal: PrincipalDep, services: ServicesDep) -> Response:
    services.notifications.preferences.bell(principal.user.id, username, False)
    return Response(status_code=204)


# -- push -----------------------------------------------------------------------------------


@push.get("/vapid-public-key", response_model=VapidKeyOut, responses=problems(503))
def vapid_public_key(services: ServicesDep) -> VapidKeyOut:
    """The key browsers subscribe with (``applicationServerKey``); 503 where Web Push is off."""
    key = services.notifications.vapid_public_key
    if key is None:
        raise PushNotConfigured("Web Push is not configured on this server (SOCIALFLOW_VAPID_PRIVATE_KEY).")
    return VapidKeyOut(public_key=key)


def _out(row: object) -> PushSubscriptionOut:
    return PushSubscriptionOut(
        id=row.id,  # type: ignore[attr-defined]
        platform=row.kind,  # type: ignore[attr-defined]
        endpoint=row.endpoint,  # type: ignore[attr-defined]
        created_at=row.created_at,  # type: ignore[attr-defined]
        last_success_at=row.last_success_at,  # type: ignore[attr-defined]
        failures=row.failures,  # type: ignore[attr-defined]
    )


@push.post("/subscriptions", status_code=201, response_model=PushSubscriptionOut)
def subscribe(
    body: PushSubscriptionIn, request: Request, principal: PrincipalDep, services: ServicesDep
) -> PushSubscriptionOut:
    """Register this device: a browser's PushSubscription, or a mobile app's token. 422 for an
    endpoint that is not https, keys that are not P-256 keys, or a kind of device this server
    does not push to."""
    from control_plane.notifications.devices import InvalidSubscription

    if body.platform == "webpush":
        if body.endpoint is None or body.keys is None:
            raise InvalidSubscription("A Web Push subscription has an endpoint and keys.")
        row = services.notifications.devices.add(
            principal.user.id,
            "webpush",
            body.endpoint,
            p256dh=body.keys.p256dh,
            auth=body.keys.auth,
            user_agent=request.headers.get("user-agent"),
        )
    else:
        if body.token is None:
            raise InvalidSubscription(f"An {body.platform} device registers its token.")
        row = services.notifications.devices.add(
            principal.user.id, body.platform, body.token, user_agent=request.headers.get("user-agent")
        )
    return _out(row)


@push.get("/subscriptions", response_model=list[PushSubscriptionOut])
def my_subscriptions(principal: PrincipalDep, services: ServicesDep) -> list[PushSubscriptionOut]:
    return [_out(row) for row in services.notifications.devices.of(principal.user.id)]


@push.delete("/subscriptions", status_code=204, response_class=Response, responses=problems(404))
def unsubscribe_device(
    principal: PrincipalDep,
    services: ServicesDep,
    endpoint: Annotated[str, Query(min_length=1, max_length=4096, description="the endpoint (or token)")],
) -> Response:
    services.notifications.devices.remove(principal.user.id, endpoint)
    return Response(status_code=204)


# -- one-click unsubscribe (RFC 8058) ---------------------------------------------------------


def _pages(*statuses: int) -> dict[int | str, dict[str, object]]:
    return {s: {"content": {"text/html": {}}, "description": "An HTML page."} for s in statuses}


def _what(scope: str) -> str:
    return "the email digest" if scope == DIGEST else f"emails about {scope.replace('_', ' ')}"


@router.get("/unsubscribe", response_class=HTMLResponse, responses=_pages(404))
def unsubscribe_page(services: ServicesDep, token: Token = None) -> HTMLResponse:
    """The page of a mail's unsubscribe link: one button. Opening it changes nothing."""
    try:
        _, scope = services.notifications.tokens.read(token or "")
    except BadUnsubscribeToken as exc:
        return page("Unsubscribe", html("<p class=problem>$detail</p>", detail=exc.detail), status=404)
    body = html(
        '<p>Stop $what?</p><form method="post" action="unsubscribe?token=$token">'
        '<button type="submit">Unsubscribe</button></form>',
        what=_what(scope),
        token=token or "",
    )
    return page("Unsubscribe", body)


@router.post("/unsubscribe", response_class=HTMLResponse, responses=_pages(404))
def unsubscribe_now(services: ServicesDep, token: Token = None) -> HTMLResponse:
    """One-click unsubscribe (``List-Unsubscribe=One-Click``, RFC 8058), and the page's button."""
    try:
        user_id, scope = services.notifications.tokens.read(token or "")
    except BadUnsubscribeToken as exc:
        return page("Unsubscribe", html("<p class=problem>$detail</p>", detail=exc.detail), status=404)
    prefs = services.notifications.preferences
    if scope == DIGEST:
        prefs.update_if_exists(user_id, {"digest": "off"})
    else:
        prefs.update_if_exists(user_id, {"types": {scope: {"email": False}}})
    return page("Unsubscribed", html("<p>Done: no more $what.</p>", what=_what(scope)))
