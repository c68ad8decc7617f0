"""Playback opened from a page of another site, before the stream is live: every answer under
``/live/`` carries CORS headers, errors included, and a playlist of a stream not live yet
answers 503 ``LIVE_NOT_LIVE_YET`` with ``Retry-After`` (players retry 5xx, not 404)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.platform import Platform, embedded

from control_plane.live import StreamService, hls_prefix

ORIGIN = {"Origin": "https://player.example"}


def create(platform: Platform) -> dict:
    r = platform.client.post("/api/v1/live/streams", json={"title": "show"}, headers=platform.user("alice"))
    assert r.status_code == 201, r.text
    return r.json()


def assert_cors(response: Any, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers.get_list("access-control-allow-origin") == ["*"]
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert {"retry-after", "location", "link"} <= exposed


def test_a_stream_not_live_yet_answers_503_with_retry_after_and_cors(platform: Platform) -> None:
    body = create(platform)
    for name in ("master.m3u8", "index.m3u8", "720p.m3u8"):
        r = platform.client.get(f"/live/{body['id']}/hls/{name}", headers=ORIGIN)
        assert_cors(r, 503)
        assert r.headers["retry-after"] == "1"
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "LIVE_NOT_LIVE_YET"
    assert_cors(platform.client.get(f"/live/{body['id']}/hls/part0.0.m4s", headers=ORIGIN), 404)

    StreamService(platform.services.db).record_state(body["id"], "live")  # live, no parts yet
    assert platform.client.get(f"/live/{body['id']}/hls/master.m3u8").json()["code"] == "LIVE_NOT_LIVE_YET"
    platform.services.store.put(hls_prefix(body["id"]) + "master.m3u8", b"#EXTM3U\n")
    r = platform.client.get(f"/live/{body['id']}/hls/master.m3u8", headers=ORIGIN)
    assert_cors(r, 200)
    assert r.text == "#EXTM3U\n"

    StreamService(platform.services.db).record_state(body["id"], "idle")  # ended
    platform.services.store.delete(hls_prefix(body["id"]) + "master.m3u8")
    r = platform.client.get(f"/live/{body['id']}/hls/master.m3u8", headers=ORIGIN)
    assert_cors(r, 404)
    assert r.json()["code"] == "LIVE_FILE_NOT_FOUND"


def test_every_playback_answer_carries_cors(platform: Platform) -> None:
    body = create(platform)
    stream = body["id"]
    platform.services.store.put(hls_prefix(stream) + "index.m3u8", b"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n")
    sdp = {**ORIGIN, "Content-Type": "application/sdp"}
    cases: list[tuple[Callable[[], object], int]] = [
        (lambda: platform.client.get("/live/nope/hls/master.m3u8", headers=ORIGIN), 404),
        (lambda: platform.client.get(f"/live/{stream}/hls/..secret", headers=ORIGIN), 404),
        (lambda: platform.client.get(f"/live/{stream}/hls/index.m3u8", headers=ORIGIN), 200),
        (lambda: platform.client.head(f"/live/{stream}/hls/index.m3u8", headers=ORIGIN), 200),
        (lambda: platform.client.get(f"/live/{stream}/hls/index.m3u8?_HLS_msn=-1", headers=ORIGIN), 422),
        (lambda: platform.client.get(f"/live/{stream}/hls/index.m3u8?_HLS_msn=9", headers=ORIGIN), 400),
        (lambda: platform.client.get(f"/live/{stream}/hls/index.m3u8?_HLS_part=1", headers=ORIGIN), 400),
        (lambda: platform.client.get(f"/live/{stream}/hls/seg3.m4s", headers=ORIGIN), 404),
        (lambda: platform.client.post(f"/live/{stream}/hls/index.m3u8", headers=ORIGIN), 405),
        (lambda: platform.client.post(f"/live/{stream}/whep", content=b"v=0", headers=ORIGIN), 415),
        (lambda: platform.client.post(f"/live/{stream}/whep", content=b"\xff\xfe", headers=sdp), 400),
        (lambda: platform.client.post(f"/live/{stream}/whep", content=b"v=0\r\n", headers=sdp), 409),
        (lambda: platform.client.delete(f"/live/{stream}/whep/nope", headers=ORIGIN), 404),
        (lambda: platform.client.patch(f"/live/{stream}/whep/nope", headers=ORIGIN), 405),
    ]
    for call, status in cases:
        assert_cors(call(), status)
    not_live = platform.client.post(f"/live/{stream}/whep", content=b"v=0\r\n", headers=sdp)
    assert not_live.json()["code"] == "LIVE_STREAM_NOT_LIVE" and not_live.headers["retry-after"] == "1"


def test_preflights_from_any_site_even_with_a_site_wide_cors_list(
    tmp_path: Path, platform_factory: Callable[..., Platform]
) -> None:
    platform = platform_factory(embedded(tmp_path, cors_origins=["https://studio.example.com"]))
    body = create(platform)
    ask = {**ORIGIN, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "range"}
    r = platform.client.options(f"/live/{body['id']}/hls/master.m3u8", headers=ask)
    assert_cors(r, 204)
    assert "GET" in r.headers["access-control-allow-methods"]
    assert "range" in r.headers["access-control-allow-headers"].lower()
    post = {
        **ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    r = platform.client.options(f"/live/{body['id']}/whep", headers=post)
    assert_cors(r, 204)  # WHEP's own preflight route answers it
    assert "POST" in r.headers["access-control-allow-methods"]
    r = platform.client.get(f"/live/{body['id']}/hls/master.m3u8", headers=ORIGIN)
    assert_cors(r, 503)
    # The site-wide list still governs the API.
    r = platform.client.options("/api/v1/live/streams", headers=post)
    assert r.headers.get("access-control-allow-origin") != "*"


def test_an_unexpected_error_answers_500_with_cors(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = create(platform)

    def broken(self: StreamService, stream_id: str) -> str:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(StreamService, "status", broken)
    r = platform.client.get(f"/live/{body['id']}/hls/master.m3u8", headers=ORIGIN)
    assert_cors(r, 500)
    assert r.json()["code"] == "INTERNAL_ERROR" and "database" not in r.text
