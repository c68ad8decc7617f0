"""A reference library in a local folder: the engine of ``socialflow fingerprint index/match``.

Layout of ``index_dir``::

    names.json          {"format": 1, "next_id": N, "references": {"<id>": {"name", "path", "duration"}}}
                        (``duration`` in seconds; libraries indexed before it was kept lack it)
    audio-<shard>.npz   AudioIndex shards (see fingerprint.index)
    video-<shard>.npz   VideoIndex shards (see fingerprint.video_index)

Files are replaced atomically (written beside, then renamed), so a crash mid-save leaves the
previous library intact.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .errors import FingerprintError, IndexCorrupt, MediaUnreadable
from .extract import fingerprint_file
from .index import AudioIndex
from .matcher import Matcher
from .matches import merge
from .shards import ShardedIndex, audio_shards, video_shards
from .video_index import VideoIndex

log = logging.getLogger(__name__)

MEDIA_SUFFIXES = frozenset(
    ".mp4 .m4v .m4a .mov .mkv .webm .avi .flv .ts .mpg .mpeg .wmv .mp3 .aac .ogg .oga .opus .wav "
    ".flac .wma .3gp".split()
)
"""File suffixes picked up when a folder is indexed (files named explicitly are always tried)."""
SHARD_SIZE = 10_000


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=path.name, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


class LocalLibrary:
    """References fingerprinted into ``index_dir``; load once, match many files."""

    def __init__(self, index_dir: str | os.PathLike[str]) -> None:
        self.index_dir = Path(index_dir)
        self.audio: ShardedIndex[AudioIndex] = audio_shards(SHARD_SIZE)
        self.video: ShardedIndex[VideoIndex] = video_shards(SHARD_SIZE)
        self.references: dict[int, dict[str, Any]] = {}
        self._next_id = 0
        self._load()

    def _load(self) -> None:
        names = self.index_dir / "names.json"
        if not names.exists():
            return
        try:
            table = json.loads(names.read_text("utf-8"))
            self._next_id = int(table["next_id"])
            self.references = {int(k): dict(v) for k, v in table["references"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise IndexCorrupt(f"{names} is not a reference names table: {exc}") from exc
        for kind, sharded in (("audio", self.audio), ("video", self.video)):
            for shard_file in sorted(self.index_dir.glob(f"{kind}-*.npz")):
                try:
                    number = int(shard_file.stem.split("-", 1)[1])
                except ValueError as exc:
                    raise IndexCorrupt(f"unexpected shard file name {shard_file.name}") from exc
                with shard_file.open("rb") as f:
                    sharded.load_shard(number, f)

    def _save(self, shards: set[int]) -> None:
        self.index_dir.mkdir(parents=True, exist_ok=True)
        for number in sorted(shards):
            _write_atomic(self.index_dir / f"audio-{number:05d}.npz", self.audio.shard(number).to_bytes())
            _write_atomic(self.index_dir / f"video-{number:05d}.npz", self.video.shard(number).to_bytes())
        table = {
            "format": 1,
            "next_id": self._next_id,
            "references": {str(k): v for k, v in sorted(self.references.items())},
        }
        _write_atomic(self.index_dir / "names.json", json.dumps(table, indent=1).encode("utf-8"))

    @staticmethod
    def _expand(paths: Iterable[str | os.PathLike[str]]) -> Iterator[tuple[Path, bool]]:
        """(file, named explicitly) for each path; folders are walked for MEDIA_SUFFIXES."""
        for raw in paths:
            path = Path(raw)
            if path.is_dir():
                for found in sorted(path.rglob("*")):
                    if found.is_file() and found.suffix.lower() in MEDIA_SUFFIXES:
                        yield found, False
            elif path.is_file():
                yield path, True
            else:
                raise MediaUnreadable(f"{path} is neither a file nor a folder")

    def index_paths(self, paths: Iterable[str | os.PathLike[str]]) -> int:
        """Fingerprint and add media files (or every media file under folders); returns how many.

        A file already in the library (same absolute path) is skipped. A file named explicitly
        that cannot be fingerprinted raises its FingerprintError; one found in a folder is logged
        and skipped. The library is saved before returning.
        """
        known = {ref["path"] for ref in self.references.values()}
        touched: set[int] = set()
        added = 0
        for path, explicit in self._expand(paths):
            absolute = str(path.resolve())
            if absolute in known:
                continue
            try:
                fp = fingerprint_file(path)
            except FingerprintError as exc:
                if explicit:
                    raise
                log.warning("skipping %s: %s (%s)", path, exc.detail, exc.code)
                continue
            ref_id = self._next_id
            self._next_id += 1
            lm = fp.landmarks()
            if lm is not None:
                self.audio.add(ref_id, lm)
            if fp.frames is not None:
                self.video.add(ref_id, fp.frames)
            self.references[ref_id] = {"name": path.name, "path": absolute, "duration": fp.duration}
            known.add(absolute)
            touched.add(self.audio.shard_of(ref_id))
            added += 1
        if added:
            self._save(touched)
        return added

    def remove(self, ref_id: int) -> bool:
        """Forget one reference (its fingerprints and name); returns whether it was present."""
        if ref_id not in self.references:
            return False
        self.audio.remove(ref_id)
        self.video.remove(ref_id)
        del self.references[ref_id]
        self._save({self.audio.shard_of(ref_id)})
        return True

    def matcher(self) -> Matcher:
        return Matcher(self.audio, self.video)

    def match_files(
        self, files: Iterable[str | os.PathLike[str]], min_duration: float = 0.0
    ) -> Iterator[dict[str, Any]]:
        """Yield one dict per identification longer than ``min_duration`` seconds, per file.

        Every merged match the matcher is confident of counts, whatever its length (the 7 s
        rule decides claims on the platform, not identifications here), clipped to the query
        and to the reference (see :meth:`Match.within`). Each dict has the claim fields
        (reference_id, kind, query_start, reference_start, duration, score) plus ``query`` (the
        path as given) and ``reference`` (the reference's file name). A file without a match
        yields ``{"query": ..., "reference": None}``; one that cannot be fingerprinted yields
        that plus ``"error": {"code", "detail"}``.
        """
        matcher = self.matcher()
        for file in files:
            name = os.fspath(file)
            try:
                fp = fingerprint_file(file)
            except FingerprintError as exc:
                yield {"query": name, "reference": None, "error": {"code": exc.code, "detail": exc.detail}}
                continue
            found = []
            for m in merge(matcher.match(fp)):
                clipped = m.within(fp.duration, self.references.get(m.reference_id, {}).get("duration"))
                if clipped is not None and clipped.duration > min_duration:
                    found.append(clipped)
            if not found:
                yield {"query": name, "reference": None}
            for m in sorted(found, key=lambda m: (m.query_start, m.reference_id)):
                ref = self.references.get(m.reference_id, {})
                yield {**m.as_dict(), "query": name, "reference": ref.get("name")}
