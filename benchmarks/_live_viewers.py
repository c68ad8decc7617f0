"""Viewers that measure glass-to-glass latency: they download what a player would, decode it,
read the send time drawn into each frame and note ``arrival - sent`` (seconds) per frame.

``ll_hls``: blocking playlist reloads (``_HLS_msn``/``_HLS_part``) and the preload-hinted part
requested ahead, as an LL-HLS player does. ``hls``: whole segments only, reloading the playlist
every ``poll_s`` seconds. Neither adds a player's buffer (hold-back) on top: that is reported
separately from the playlists' hold-back.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from typing import cast
from urllib.parse import urljoin

import av
import httpx
import m3u8
from av.video.codeccontext import VideoCodecContext

from benchmarks._live_clock import read

__all__ = ["Viewer"]

log = logging.getLogger(__name__)


class Viewer:
    """Watches ``playlist_url`` until ``stop`` is set; ``latencies`` are seconds, one per frame."""

    def __init__(self, playlist_url: str, mode: str, stop: threading.Event, poll_s: float = 0.5) -> None:
        if mode not in ("ll_hls", "hls"):
            raise ValueError(f"unknown viewer mode {mode!r}")
        self.url, self.mode, self.stop, self.poll_s = playlist_url, mode, stop, poll_s
        self.latencies: list[float] = []
        self.fetched: set[str] = set()
        self.init: bytes | None = None
        self.errors = 0
        self.decoder: VideoCodecContext | None = None
        self.thread = threading.Thread(target=self._run, name=f"viewer-{mode}", daemon=True)

    def _decode(self, data: bytes, arrival: float, container: str) -> None:
        """Demux one part or segment and feed a decoder kept across them (parts may start with
        frames that refer to the previous part)."""
        source = io.BytesIO((self.init or b"") + data)
        try:
            with av.open(source, mode="r", format=container) as media:
                stream = media.streams.video[0]
                if self.decoder is None:
                    self.decoder = cast(
                        VideoCodecContext, av.CodecContext.create(stream.codec_context.name, "r")
                    )
                    if stream.codec_context.extradata:
                        self.decoder.extradata = stream.codec_context.extradata
                for packet in media.demux(stream):
                    if packet.size == 0:
                        continue
                    for frame in self.decoder.decode(packet):
                        sent = read(frame.to_ndarray(format="gray"), int(arrival * 1000)) / 1000
                        self.latencies.append(arrival - sent)
        except av.error.FFmpegError as exc:
            log.debug("viewer %s could not decode: %s", self.mode, exc)
            self.errors += 1

    def _fetch(self, client: httpx.Client, uri: str, *, hinted: bool = False) -> None:
        """Download and decode ``uri``; a hinted part the stream ended before is no error (404)."""
        if uri in self.fetched:
            return
        self.fetched.add(uri)
        response = client.get(urljoin(self.url, uri))
        arrival = time.time()
        if response.status_code != 200:
            self.errors += not (hinted and response.status_code == 404)
            return
        self._decode(response.content, arrival, "mpegts" if uri.endswith(".ts") else "mp4")

    def _run(self) -> None:
        with httpx.Client(timeout=15) as client:
            while not self.stop.is_set():
                try:
                    self._step(client)
                except (httpx.HTTPError, ValueError) as exc:
                    log.debug("viewer %s: %s", self.mode, exc)
                    self.errors += 1
                    time.sleep(self.poll_s)

    def _step(self, client: httpx.Client) -> None:
        response = client.get(self.url, params=self._blocking())
        if response.status_code != 200:
            time.sleep(self.poll_s)
            return
        playlist = m3u8.loads(response.text)
        if playlist.segment_map and self.init is None:
            self.init = client.get(urljoin(self.url, playlist.segment_map[0].uri)).content
        if self.mode == "hls":
            for segment in playlist.segments:
                if segment.uri:
                    self._fetch(client, segment.uri)
            time.sleep(self.poll_s)
            return
        self._last = playlist
        for segment in playlist.segments:
            for part in segment.parts:
                self._fetch(client, part.uri)
        if playlist.preload_hint is not None:
            self._fetch(client, playlist.preload_hint.uri, hinted=True)  # held by the server until it exists
        elif playlist.is_endlist:
            time.sleep(self.poll_s)

    _last: m3u8.M3U8 | None = None

    def _blocking(self) -> dict[str, int]:
        """The next part after the newest listed, for a blocking reload (LL-HLS only)."""
        if self.mode != "ll_hls" or self._last is None or self._last.is_endlist:
            return {}
        segments = self._last.segments
        if not segments:
            return {}
        msn = self._last.media_sequence + len(segments) - 1
        last = segments[-1]
        if last.uri:  # a complete segment last: the next one's first part
            return {"_HLS_msn": msn + 1, "_HLS_part": 0}
        return {"_HLS_msn": msn, "_HLS_part": len(last.parts)}
