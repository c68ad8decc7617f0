"""Live streams: create, read, rotate keys; LL-HLS playback from storage with blocking reloads.

The stream routes are the owner's only (a moderator may read). Playback under
``/live/{stream_id}/hls/`` is public, as live streams are: playlists answer ``_HLS_msn`` and
``_HLS_part`` by waiting until the playlist in storage holds that part, and a request for the
preload-hinted part is held until the part is written.

WebRTC (``application/sdp`` offer in, 201 with the answer and a ``Location`` session resource out;
DELETE on that resource ends the session; no trickle ICE, so PATCH answers 405): WHIP ingest at
``/api/v1/live/streams/{id}/whip`` needs the owner's access token or the stream key as Bearer
token; WHEP playback at ``/live/{id}/whep`` is public while the stream is live.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from control_plane.accounts.errors import RoleRequired
from control_plane.channels.cards import cards
from control_plane.core.ratelimit import Limit
from control_plane.http.clientip import client_ip
from control_plane.http.deps import (
    Principal,
    PrincipalDep,
    ServicesDep,
    bearer_token,
    current_principal,
    require_role,
)
from control_plane.http.openapi import declares, problems
from control_plane.http.pagination import Page, PageDep
from control_plane.http.ranges import blob_response, file_route
from control_plane.live import (
    LivePlaybackNotFound,
    NotLiveYet,
    PlaylistAhead,
    PlaylistNotReady,
    StreamService,
    StreamView,
    ViewerCounter,
    content_type,
    hls_prefix,
    viewer_id,
)
from control_plane.live.files import CONTENT_TYPES
from control_plane.live.playlists import PlaylistReader
from control_plane.live.turn import IceConfig
from control_plane.live.webrtc_errors import (
    BadOffer,
    NotSdp,
    OfferTooLarge,
    StreamKeyInvalid,
    TrickleNotSupported,
)
from control_plane.live.webrtc_gateway import WebRtcGateway
from control_plane.services import Services
from pipelines.live import (
    BadPlaylistRequest,
    PlaylistTimeout,
    media_playlist_of,
    part_position,
    wait_for_next_part,
    wait_for_part,
)
from pipelines.webrtc.peers import MAX_SDP_BYTES
from storage import BlobNotFound

router = APIRouter(prefix="/api/v1/live", tags=["live"])
playback = APIRouter(prefix="/live", tags=["live playback"])

CreatorDep = Annotated[Principal, Depends(require_role("creator"))]
MEDIA_PLAYLIST = "index.m3u8"
BLOCK_TIMEOUT_S = 10.0  # seconds a blocking reload or a preload-hinted part is held at most
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class StreamIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)


class LivePlayback(BaseModel):
    hls: str
    whep: str


class StreamEvent(BaseModel):
    state: str
    at: datetime


class StreamCreated(BaseModel):
    id: str
    stream_key: str
    rtmp_url: str
    publish_url: str
    whip_url: str
    playback: LivePlayback


class StreamOut(BaseModel):
    id: str
    title: str
    status: str
    viewers: int = Field(description="watching now (seen in the last 15 to 30 s)")
    peak_viewers: int = Field(description="the most viewers watching at once, over the stream's life")
    started_at: datetime | None
    ended_at: datetime | None
    recording_video_id: str | None
    rtmp_url: str
    playback: LivePlayback
    events: list[StreamEvent]


class LiveChannel(BaseModel):
    username: str
    display_name: str


class LiveNow(BaseModel):
    """A stream live now, as anyone may see it."""

    id: str
    title: str
    channel: LiveChannel
    started_at: datetime | None
    viewers: int
    peak_viewers: int
    playback: LivePlayback


class KeyOut(BaseModel):
    id: str
    stream_key: str
    publish_url: str


def streams_of(services: Services) -> StreamService:
    return StreamService(services.db, peaks=ViewerCounter(services.kv).peak)


def rtmp_url(services: Services) -> str:
    """``rtmp://HOST:PORT/live``, HOST being the public URL's host name."""
    host = urlsplit(services.settings.effective_public_url).hostname or services.settings.host
    return f"rtmp://{host}:{services.settings.rtmp_port}/live"


def playback_of(services: Services, stream_id: str) -> LivePlayback:
    base = f"{services.settings.effective_public_url}/live/{stream_id}"
    return LivePlayback(hls=f"{base}/hls/master.m3u8", whep=f"{base}/whep")


def stream_out(services: Services, view: StreamView) -> StreamOut:
    return StreamOut(
        id=view.id,
        title=view.title,
        status=view.status,
        viewers=ViewerCounter(services.kv).count(view.id) if view.status == "live" else 0,
        peak_viewers=max(view.peak_viewers, ViewerCounter(services.kv).peak(view.id)),
        started_at=view.started_at,
        ended_at=view.ended_at,
        recording_video_id=view.recording_video_id,
        rtmp_url=rtmp_url(services),
        playback=playback_of(services, view.id),
        events=[StreamEvent(state=e.state, at=e.at) for e in view.events],
    )


def playlists(request: Request, services: Services) -> PlaylistReader:
    """The app's one ``PlaylistReader``, made on first use, so waiting viewers share store reads."""
    reader: PlaylistReader | None = getattr(request.app.state, "live_playlists", None)
    if reader is None or reader.store is not services.store:
        reader = request.app.state.live_playlists = PlaylistReader(services.store)
    return reader


def readable(services: Services, principal: Principal, stream_id: str) -> StreamView:
    streams = streams_of(services)
    if principal.has_role("moderator"):
        return streams.view(stream_id)
    return streams.owned(principal.user.id, stream_id)


@router.post("/streams", status_code=201, response_model=StreamCreated)
def create_stream(body: StreamIn, principal: CreatorDep, services: ServicesDep) -> StreamCreated:
    """A new stream and its secret key, shown this once (rotate it to get a new one)."""
    view, key = streams_of(services).create(principal.user.id, body.title)
    server = rtmp_url(services)
    return StreamCreated(
        id=view.id,
        stream_key=key,
        rtmp_url=server,
        publish_url=f"{server}/{key}",
        whip_url=f"{services.settings.effective_public_url}/api/v1/live/streams/{view.id}/whip",
        playback=playback_of(services, view.id),
    )


@router.get("/streams", response_model=Page[StreamOut])
def my_streams(principal: PrincipalDep, services: ServicesDep, page: PageDep) -> Page[StreamOut]:
    """The caller's streams in every status, the newest first (without their event logs)."""
    views, cursor = streams_of(services).list_owned(principal.user.id, page)
    return Page[StreamOut](items=[stream_out(services, v) for v in views], next_cursor=cursor)


@router.get("", response_model=Page[LiveNow])
def live_now(services: ServicesDep, page: PageDep) -> Page[LiveNow]:
    """The streams live now, the latest to go live first. Public, as live playback is."""
    views, cursor = streams_of(services).list_live(page)
    with services.db.session() as session:
        channels = cards(session, {v.owner_id for v in views})
    items = [
        LiveNow(
            id=v.id,
            title=v.title,
            channel=LiveChannel(
                username=channels[v.owner_id].username, display_name=channels[v.owner_id].display_name
            ),
            started_at=v.started_at,
            viewers=ViewerCounter(services.kv).count(v.id),
            peak_viewers=max(v.peak_viewers, ViewerCounter(services.kv).peak(v.id)),
            playback=playback_of(services, v.id),
        )
        for v in views
        if v.owner_id in channels  # an account being closed has no card any more
    ]
    return Page[LiveNow](items=items, next_cursor=cursor)


@router.get("/streams/{stream_id}", response_model=StreamOut)
def get_stream(stream_id: str, principal: PrincipalDep, services: ServicesDep) -> StreamOut:
    return stream_out(services, readable(services, principal, stream_id))


@router.post("/streams/{stream_id}/rotate-key", response_model=KeyOut)
def rotate_key(stream_id: str, principal: CreatorDep, services: ServicesDep) -> KeyOut:
    """A new key for an owned stream; the old one is refused from now on."""
    key = streams_of(services).rotate_key(principal.user.id, stream_id)
    return KeyOut(id=stream_id, stream_key=key, publish_url=f"{rtmp_url(services)}/{key}")


SDP = "application/sdp"
SDP_OFFER = {
    "requestBody": {
        "required": True,
        "content": {SDP: {"schema": {"type": "string", "maxLength": MAX_SDP_BYTES}}},
    }
}
SDP_ANSWER: dict[int | str, dict[str, Any]] = {
    201: {"description": "The SDP answer; `Location` is the session resource", "content": {SDP: {}}},
    **problems(
        400, 409, 413, 415, 503, s400="The offer is not a usable SDP offer", s409="The stream is not live"
    ),
}
WHEP_CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "Location, Link"}
#: Each WHEP offer costs a peer connection: bounded per client address (viewers need no account).
WHEP_PER_IP = Limit("whep", 30, 60.0, "Too many WebRTC playback offers; try again in {retry} s.")


def webrtc(request: Request, services: Services) -> WebRtcGateway:
    """The app's one ``WebRtcGateway``, made on first use around the app's ``WhipHost``."""
    gateway: WebRtcGateway | None = getattr(request.app.state, "live_webrtc", None)
    if gateway is None or gateway.services is not services:
        whip = getattr(request.app.state, "live_whip", None)
        gateway = request.app.state.live_webrtc = WebRtcGateway(services, whip)
    return gateway


async def sdp_offer(request: Request) -> str:
    """The request's SDP offer: ``application/sdp``, at most ``MAX_SDP_BYTES``, UTF-8."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != SDP:
        raise NotSdp("Send the offer with 'Content-Type: application/sdp'.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_SDP_BYTES:
            raise OfferTooLarge(f"An SDP offer may have at most {MAX_SDP_BYTES} bytes.")
    try:
        return body.decode()
    except UnicodeDecodeError as exc:
        raise BadOffer("The SDP offer is not UTF-8 text.") from exc


@declares(401, 403, 429, security="required")
def whip_stream(stream_id: str, request: Request, services: ServicesDep) -> str:
    """Admits the stream's owner (a creator's access token) or its current stream key as Bearer
    token (what OBS's WHIP output sends); returns the stream id."""
    token = bearer_token(request)
    streams = streams_of(services)
    if token.startswith("sk_"):
        if streams.find_by_key(token) != stream_id:
            raise StreamKeyInvalid("That is not this stream's current key.")
        return stream_id
    principal = current_principal(request, services)
    if not principal.has_role("creator"):
        raise RoleRequired("This needs the creator role.")
    return streams.owned(principal.user.id, stream_id).id


WhipStreamDep = Annotated[str, Depends(whip_stream)]


def sdp_created(answer: str, location: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        answer, status_code=201, media_type=SDP, headers={"Location": location, **(headers or {})}
    )


@router.post("/streams/{stream_id}/whip", status_code=201, response_class=Response, responses=SDP_ANSWER,
             openapi_extra=SDP_OFFER)  # fmt: skip
async def whip(stream_id: WhipStreamDep, request: Request, services: ServicesDep) -> Response:
    """WHIP (RFC 9725): publish to the stream over WebRTC; it gets LL-HLS, WHEP and a recording."""
    offer = await sdp_offer(request)
    session, answer = await webrtc(request, services).publish(stream_id, offer)
    ice = IceConfig.from_settings(services.settings).link_header(f"whip-{stream_id}")
    return sdp_created(answer, f"/api/v1/live/streams/{stream_id}/whip/{session}", ice)


@router.delete("/streams/{stream_id}/whip/{session_id}", response_class=Response)
async def whip_end(
    stream_id: WhipStreamDep, session_id: str, request: Request, services: ServicesDep
) -> Response:
    """End a WHIP session: the stream ends and its recording is kept, as when an RTMP publish stops."""
    await webrtc(request, services).stop_publishing(stream_id, session_id[:64])
    return Response(status_code=200)


@router.patch("/streams/{stream_id}/whip/{session_id}", response_class=Response, include_in_schema=False)
def whip_patch(stream_id: WhipStreamDep, session_id: str) -> Response:
    raise TrickleNotSupported(
        "Candidates are all in the answer; trickle ICE is not supported.", headers={"Allow": "DELETE"}
    )


@playback.post("/{stream_id}/whep", status_code=201, response_class=Response,
               responses={**SDP_ANSWER, **problems(429)}, openapi_extra=SDP_OFFER)  # fmt: skip
async def whep(stream_id: str, request: Request, services: ServicesDep) -> Response:
    """WHEP: play a live stream over WebRTC (H.264 as published, Opus audio)."""
    address = client_ip(request, services.settings.trusted_proxies)
    await asyncio.to_thread(services.limiter.hit, WHEP_PER_IP, address)
    offer = await sdp_offer(request)
    session, answer = await webrtc(request, services).play(stream_id, offer)
    ice = IceConfig.from_settings(services.settings).link_header(f"whep-{stream_id}")
    return sdp_created(answer, f"/live/{stream_id}/whep/{session}", {**WHEP_CORS, **ice})


@playback.options("/{stream_id}/whep", status_code=204, response_class=Response, responses=problems(429))
def whep_preflight(stream_id: str, request: Request, services: ServicesDep) -> Response:
    """CORS preflight for browser players; with TURN or STUN configured, also the ``Link`` headers
    of the ICE servers (TURN with a short-lived credential), so that a player behind NAT can use
    them in its offer. Counted against the same per-address limit as offers."""
    headers = {
        **WHEP_CORS,
        "Access-Control-Allow-Methods": "POST, DELETE, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type, Authorization",
    }
    ice = IceConfig.from_settings(services.settings)
    if ice.urls:
        services.limiter.hit(WHEP_PER_IP, client_ip(request, services.settings.trusted_proxies))
        headers.update(ice.link_header(f"whep-{stream_id}"))
    return Response(status_code=204, headers=headers)


@playback.delete("/{stream_id}/whep/{session_id}", response_class=Response)
async def whep_end(stream_id: str, session_id: str, request: Request, services: ServicesDep) -> Response:
    """End a WHEP session (the session URL is its only credential)."""
    await webrtc(request, services).stop_playing(stream_id, session_id[:64])
    return Response(status_code=200, headers=WHEP_CORS)


@playback.patch("/{stream_id}/whep/{session_id}", response_class=Response, include_in_schema=False)
def whep_patch(stream_id: str, session_id: str) -> Response:
    raise TrickleNotSupported(
        "Candidates are all in the answer; trickle ICE is not supported.", headers={"Allow": "DELETE"}
    )


@file_route(
    playback,
    "/{stream_id}/hls/{name}",
    *CONTENT_TYPES.values(),
    "application/octet-stream",
    responses=problems(
        400,
        503,
        s400="_HLS_msn/_HLS_part ahead of the playlist by more than LL-HLS allows",
        s503="Not live yet (a playlist before the stream's first parts: `LIVE_NOT_LIVE_YET`), or the "
        "requested part did not appear within 10 s; Retry-After says when to ask again",
    ),
)
async def live_file(
    stream_id: str,
    name: str,
    request: Request,
    services: ServicesDep,
    msn: Annotated[int | None, Query(alias="_HLS_msn", ge=0)] = None,
    part: Annotated[int | None, Query(alias="_HLS_part", ge=0)] = None,
    viewer: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """A live playback file; blocking reloads and preload-hinted parts wait up to 10 s, and a
    plain request for a live media playlist until the part being built is listed (two part
    targets at most), so that a player tuning in starts from the live edge, not a part behind.

    A playlist of a stream that is not live yet (idle, or live without its first parts) answers
    503 ``LIVE_NOT_LIVE_YET`` with ``Retry-After``, which players retry; every answer here,
    errors included, carries CORS headers (``control_plane.live.cors``)."""
    status = (
        await asyncio.to_thread(streams_of(services).status, stream_id) if FILE_NAME.match(name) else None
    )
    if status is None:
        raise LivePlaybackNotFound("No such live playback file.")
    store, prefix = services.store, hls_prefix(stream_id)
    media = media_playlist_of(name, MEDIA_PLAYLIST) or MEDIA_PLAYLIST  # lists ``name``: source or rung

    async def held(msn: int, part: int | None) -> str:
        """The playlist once it lists ``msn``/``part``, as the control plane's errors."""
        try:
            return await wait_for_part(playlist, msn, part, timeout_s=BLOCK_TIMEOUT_S)
        except BadPlaylistRequest as exc:
            raise PlaylistAhead(str(exc)) from exc
        except PlaylistTimeout as exc:
            raise PlaylistNotReady(str(exc), headers={"Retry-After": "1"}) from exc

    async def playlist() -> str | None:
        return await playlists(request, services).read(prefix + media)

    headers = {"Access-Control-Allow-Origin": "*"}
    if name.endswith(".m3u8") and request.method == "GET":  # a HEAD plays nothing
        client = request.client.host if request.client else ""
        who = viewer_id(viewer, client, request.headers.get("user-agent", ""))
        await asyncio.to_thread(ViewerCounter(services.kv).seen, stream_id, who)
    if name == media and part is not None and msn is None:
        raise PlaylistAhead("_HLS_part needs _HLS_msn.")
    fresh: str | None = None
    if name == media and msn is not None:
        fresh = await held(msn, part)
    elif name == media and status == "live" and request.method == "GET":
        fresh = await wait_for_next_part(playlist)  # a tuning-in player starts at the live edge
    if fresh is not None:
        return Response(fresh, media_type=content_type(name), headers=headers | {"Cache-Control": "no-cache"})
    position = part_position(name)
    if position is not None and status == "live" and not await asyncio.to_thread(store.exists, prefix + name):
        await held(*position)  # only a live stream's parts are worth waiting for
    cache = "no-cache" if name.endswith(".m3u8") else "public, max-age=60"
    try:
        response = await asyncio.to_thread(
            blob_response, store, prefix + name, request, content_type=content_type(name), cache_control=cache
        )
    except BlobNotFound as exc:
        if name.endswith(".m3u8") and status != "ended":
            raise NotLiveYet("The stream is not live yet; ask again in a second.") from exc
        raise LivePlaybackNotFound("No such live playback file.") from exc
    response.headers.update(headers)
    return response
