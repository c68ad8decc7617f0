"""One publisher per stream across ingests: an RTMP publish is refused while another ingest (an
RTMP process, or the API process holding a WHIP publisher) holds the stream's lease."""

from __future__ import annotations

import asyncio

from support.platform import Platform

from control_plane.live import StreamLeases
from workers.live import build_ingest


def test_rtmp_publish_is_refused_while_another_ingest_holds_the_stream(platform: Platform) -> None:
    headers = platform.user("streamer")
    stream = platform.client.post("/api/v1/live/streams", headers=headers, json={"title": "held"}).json()
    stream_id, key = stream["id"], stream["stream_key"]
    ingest = build_ingest(platform.services, webrtc=False)
    authorizer = ingest.authorizer
    assert authorizer.leases is not None

    def authorize() -> str | None:
        grant = asyncio.run(authorizer.authorize("live", key))
        return grant.stream_id if grant else None

    elsewhere = StreamLeases(platform.services.kv, holder="whip-on-another-process")
    elsewhere.hold(stream_id)
    assert authorize() is None
    elsewhere.release(stream_id)
    assert authorize() == stream_id
    # Its own lease never blocks it: a publisher returning within the reconnect window continues.
    authorizer.leases.hold(stream_id)
    assert authorize() == stream_id
    authorizer.leases.release(stream_id)
