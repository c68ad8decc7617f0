"""The Low-Latency HLS media playlist (RFC 8216bis): model, rendering, blocking reloads.

Durations are seconds. ``started_at`` (Unix seconds, the wall-clock time of the first segment's
start) adds ``EXT-X-PROGRAM-DATE-TIME`` to every listed segment, at that start plus the real
durations of the segments before it. ``PART-HOLD-BACK`` is ``part_hold_back_parts`` part targets
(2 by default, the least the spec allows; it recommends 3) and ``HOLD-BACK`` three target durations, the
target duration covering every listed segment as it really is. Parts are listed for the last
``parts_segments`` complete segments and the segment being built; the playlist ends with an
``EXT-X-PRELOAD-HINT`` for the next part while live, and with ``EXT-X-ENDLIST`` once ended.
While live it also reports the other renditions of a ladder (``EXT-X-RENDITION-REPORT``, one per
name in ``reports``) at its own last part: every rendition is cut at the same parts.

``wait_for_part`` answers a blocking playlist reload (``_HLS_msn``/``_HLS_part``) from any
source of the current playlist text, in process or from blob storage, by polling it;
``wait_for_next_part`` answers a plain request (no ``_HLS_msn``) with the playlist as it is once
the part being built is listed, so that a player tuning in starts from a live edge that is not
already up to one part old (see its docstring).
"""

from __future__ import annotations

import asyncio
import inspect
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pipelines.live.errors import BadPlaylistRequest, PlaylistTimeout
from pipelines.packaging.tracks import Track

__all__ = [
    "Part",
    "Segment",
    "LivePlaylist",
    "render_master",
    "render_multivariant",
    "Variant",
    "media_playlist_of",
    "part_position",
    "part_available",
    "wait_for_part",
    "next_part",
    "wait_for_next_part",
]


@dataclass(frozen=True, slots=True)
class Part:
    """One partial segment file; ``independent`` when it starts with a keyframe."""

    uri: str
    duration: float
    independent: bool


@dataclass(slots=True)
class Segment:
    """A media segment numbered ``msn``; ``uri`` and ``duration`` are set once it is complete."""

    msn: int
    parts: list[Part] = field(default_factory=list)
    uri: str | None = None
    duration: float = 0.0
    start_s: float = 0.0


@dataclass
class LivePlaylist:
    """The state of one live rendition's media playlist."""

    part_target_s: float
    segment_target_s: float
    init_uri: str
    window_segments: int = 6
    parts_segments: int = 2
    segments: list[Segment] = field(default_factory=list)
    current: Segment = field(default_factory=lambda: Segment(0))
    ended: bool = False
    next_part_uri: str | None = None
    started_at: float | None = None
    reports: tuple[str, ...] = ()
    part_hold_back_parts: float = 2.0

    @property
    def part_hold_back_s(self) -> float:
        """``PART-HOLD-BACK`` in seconds: ``part_hold_back_parts`` part targets (at least two)."""
        return max(self.part_hold_back_parts, 2.0) * self.part_target_s

    @property
    def hold_back_s(self) -> float:
        """``HOLD-BACK`` in seconds, for players without LL-HLS: three target durations."""
        return 3.0 * self.target_duration

    @property
    def target_duration(self) -> int:
        """Seconds; covers every listed segment, rounded to the nearest integer as the spec asks."""
        longest = max((round(s.duration) for s in self.segments), default=0)
        return max(math.ceil(self.segment_target_s), longest)

    def add_part(self, part: Part, next_part_uri: str | None) -> None:
        self.current.parts.append(part)
        self.next_part_uri = next_part_uri

    def close_segment(self, uri: str, duration: float) -> Segment:
        """Complete the current segment (``duration`` in seconds) and return it."""
        done = self.current
        done.uri, done.duration = uri, duration
        self.segments.append(done)
        self.current = Segment(done.msn + 1, start_s=done.start_s + duration)
        return done

    def drop_expired(self) -> list[Segment]:
        """Remove and return complete segments beyond the sliding window."""
        extra = len(self.segments) - self.window_segments
        expired, self.segments = self.segments[: max(extra, 0)], self.segments[max(extra, 0) :]
        return expired

    def render(self) -> str:
        lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:9",
            f"#EXT-X-TARGETDURATION:{self.target_duration}",
            f"#EXT-X-PART-INF:PART-TARGET={self.part_target_s:.3f}",
        ]
        if not self.ended:
            lines.append(
                "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,"
                f"HOLD-BACK={self.hold_back_s:.3f},PART-HOLD-BACK={self.part_hold_back_s:.3f}"
            )
        first = self.segments[0].msn if self.segments else self.current.msn
        lines += [f"#EXT-X-MEDIA-SEQUENCE:{first}", "#EXT-X-INDEPENDENT-SEGMENTS"]
        lines.append(f'#EXT-X-MAP:URI="{self.init_uri}"')
        with_parts = len(self.segments) - self.parts_segments
        for index, segment in enumerate(self.segments):
            lines += self._date_line(segment)
            if index >= with_parts and not self.ended:
                lines += [self._part_line(p) for p in segment.parts]
            lines += [f"#EXTINF:{segment.duration:.5f},", segment.uri or ""]
        if self.ended:
            lines.append("#EXT-X-ENDLIST")
        else:
            if self.current.parts:
                lines += self._date_line(self.current)
            lines += [self._part_line(p) for p in self.current.parts]
            if self.next_part_uri:
                lines.append(f'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="{self.next_part_uri}"')
            last = self.current if self.current.parts else (self.segments[-1] if self.segments else None)
            if last is not None and last.parts:
                position = f"LAST-MSN={last.msn},LAST-PART={len(last.parts) - 1}"
                lines += [f'#EXT-X-RENDITION-REPORT:URI="{uri}",{position}' for uri in self.reports]
        return "\n".join(lines) + "\n"

    def _date_line(self, segment: Segment) -> list[str]:
        if self.started_at is None:
            return []
        when = datetime.fromtimestamp(self.started_at + segment.start_s, UTC)
        return [f"#EXT-X-PROGRAM-DATE-TIME:{when.isoformat(timespec='milliseconds').replace('+00:00', 'Z')}"]

    @staticmethod
    def _part_line(part: Part) -> str:
        line = f'#EXT-X-PART:DURATION={part.duration:.5f},URI="{part.uri}"'
        return line + (",INDEPENDENT=YES" if part.independent else "")


@dataclass(frozen=True, slots=True)
class Variant:
    """One ``EXT-X-STREAM-INF`` entry: ``bandwidth`` in bits per second, sizes in pixels (0 when
    there is no video), ``codecs`` the RFC 6381 strings joined by commas."""

    uri: str
    bandwidth: int
    codecs: str
    width: int = 0
    height: int = 0

    @classmethod
    def of(cls, tracks: list[Track], bandwidth: int, uri: str) -> Variant:
        video = next((t for t in tracks if t.kind == "video" and t.width), None)
        codecs = ",".join(t.codec_string for t in tracks)
        return cls(uri, bandwidth, codecs, video.width if video else 0, video.height if video else 0)


def render_multivariant(variants: list[Variant]) -> str:
    """A multivariant playlist listing ``variants`` in the order given (the source first).

    Every variant says ``CLOSED-CAPTIONS=NONE``: live renditions carry no CEA-608/708 captions
    that players should look for. Without it shaka-player probes a segment of the media playlist
    for captions before it plays, picks the middle one listed, and fails (a ``TypeError``) while
    that is the segment still being built (parts only, no URI of its own): it could not start a
    stream until three segments were listed.
    """
    lines = ["#EXTM3U", "#EXT-X-VERSION:9", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for variant in variants:
        attributes = [f"BANDWIDTH={variant.bandwidth}", f'CODECS="{variant.codecs}"']
        if variant.width:
            attributes.append(f"RESOLUTION={variant.width}x{variant.height}")
        attributes.append("CLOSED-CAPTIONS=NONE")
        lines += [f"#EXT-X-STREAM-INF:{','.join(attributes)}", variant.uri]
    return "\n".join(lines) + "\n"


def render_master(tracks: list[Track], bandwidth: int, media_playlist: str) -> str:
    """A multivariant playlist naming the one source rendition; ``bandwidth`` in bits per second."""
    return render_multivariant([Variant.of(tracks, bandwidth, media_playlist)])


def part_position(uri: str) -> tuple[int, int] | None:
    """``(msn, part)`` of a part file name written by the packager (``part12.3.m4s``, or a rung's
    ``720p-part12.3.m4s``), else None.

    Lets an HTTP layer hold a request for the preload-hinted part with ``wait_for_part`` until
    the part exists (in the playlist that ``media_playlist_of`` names).
    """
    name = uri.rsplit("/", 1)[-1].rsplit("-", 1)[-1]
    if not (name.startswith("part") and name.endswith(".m4s")):
        return None
    msn, _, part = name[4:-4].partition(".")
    if not (msn.isdigit() and part.isdigit()):
        return None
    return int(msn), int(part)


def media_playlist_of(name: str, source_playlist: str = "index.m3u8") -> str | None:
    """The media playlist that lists the file ``name``: ``720p.m3u8`` for ``720p-part3.1.m4s``
    (and for itself), ``source_playlist`` for the source rendition's files; None for the master
    playlist and names of no rendition."""
    if name.endswith(".m3u8"):
        return None if name == "master.m3u8" else name
    rung, dash, _ = name.rpartition("-")
    return f"{rung}.m3u8" if dash else source_playlist


def part_available(text: str, msn: int, part: int | None) -> bool:
    """Whether the playlist ``text`` already holds segment ``msn`` (and its part ``part``).

    An ended playlist answers every request. Raises ``BadPlaylistRequest`` when ``msn`` is more
    than two segments beyond the last one listed.
    """
    sequence, complete, parts_of_current = 0, 0, 0
    for line in text.splitlines():
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            sequence = int(line.split(":", 1)[1])
        elif line.startswith("#EXTINF:"):
            complete += 1
            parts_of_current = 0
        elif line.startswith("#EXT-X-PART:"):
            parts_of_current += 1
        elif line.startswith("#EXT-X-ENDLIST"):
            return True
    building = sequence + complete
    if msn > building + 1:
        raise BadPlaylistRequest(f"Segment {msn} is too far ahead of the live edge ({building}).")
    if msn < building:
        return True
    return msn == building and part is not None and part < parts_of_current


async def wait_for_part(
    load: Callable[[], str | None | Awaitable[str | None]],
    msn: int | None,
    part: int | None,
    *,
    timeout_s: float,
    poll_s: float = 0.05,
) -> str:
    """Return the playlist once it holds ``_HLS_msn=msn`` (and ``_HLS_part=part``).

    ``load`` returns the current playlist text (or None before the first one), synchronously or
    as an awaitable. Without ``msn`` the current playlist is returned at once. Raises
    ``BadPlaylistRequest`` (400) for ``part`` without ``msn`` or a request too far ahead, and
    ``PlaylistTimeout`` (503) when ``timeout_s`` seconds pass first.
    """
    if msn is None and part is not None:
        raise BadPlaylistRequest("_HLS_part needs _HLS_msn.")
    deadline = time.monotonic() + timeout_s
    while True:
        loaded = load()
        text = await loaded if inspect.isawaitable(loaded) else loaded
        if text is not None and (msn is None or part_available(text, msn, part)):
            return text
        if time.monotonic() >= deadline:
            raise PlaylistTimeout(f"Part {msn}.{part} was not ready within {timeout_s:.1f} s.")
        await asyncio.sleep(poll_s)


def next_part(text: str) -> tuple[int, int] | None:
    """``(msn, part)`` of the part after the last one the live playlist ``text`` lists (the
    one its preload hint names); None for an ended playlist or one that lists no part."""
    sequence, complete, parts_of_current, parts = 0, 0, 0, 0
    for line in text.splitlines():
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            sequence = int(line.split(":", 1)[1])
        elif line.startswith("#EXTINF:"):
            complete += 1
            parts_of_current = 0
        elif line.startswith("#EXT-X-PART:"):
            parts_of_current += 1
            parts += 1
        elif line.startswith("#EXT-X-ENDLIST"):
            return None
    return (sequence + complete, parts_of_current) if parts else None


def part_target_of(text: str) -> float | None:
    """The ``PART-TARGET`` of the playlist ``text`` in seconds, None without one."""
    for line in text.splitlines():
        if line.startswith("#EXT-X-PART-INF:"):
            for attribute in line.split(":", 1)[1].split(","):
                key, _, value = attribute.partition("=")
                if key == "PART-TARGET":
                    return float(value)
    return None


async def wait_for_next_part(
    load: Callable[[], str | None | Awaitable[str | None]], *, poll_s: float = 0.02
) -> str | None:
    """The live playlist once it lists the part that was being built when called; at most two
    part targets later, the playlist as it is then. None before the first playlist.

    For a plain request (no ``_HLS_msn``): a player tuning in places itself ``PART-HOLD-BACK``
    behind the edge of the first playlist it gets, and keeps that distance (hls.js does not
    catch up). Answered at once, that playlist is up to a part old (half a part on average), and
    the viewer stays that much further behind the live edge for the whole session; held until the
    next part (up to one part, once, at tune-in), its edge is the live edge. A player that
    reloads without ``_HLS_msn`` waits at most a part more per reload. An ended playlist, or one
    without parts, is answered at once.
    """

    async def current() -> str | None:
        loaded = load()
        return await loaded if inspect.isawaitable(loaded) else loaded

    text = await current()
    following = next_part(text) if text is not None else None
    target = part_target_of(text) if text is not None else None
    if following is None or not target:
        return text
    try:
        return await wait_for_part(current, *following, timeout_s=2 * target, poll_s=poll_s)
    except PlaylistTimeout:
        return await current()
