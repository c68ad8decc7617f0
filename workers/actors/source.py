"""What every video job starts from: its video's source media, the probe and the ladder.

``video.process`` downloads the source and probes it. The jobs it enqueues for the same video
(:func:`enqueue_for`: the parts of a chunked transcode, then their finalize) carry that probe in
their arguments, so they neither download the source nor probe it again: they read it through a
:class:`storage.BlobReader`, which fetches only the blocks the pipelines ask for.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from control_plane.jobs.models import Job
from pipelines import LadderConfig, MediaInfo, MediaLimits, Rung, build_ladder, probe
from storage import BlobReader
from workers import runtime

__all__ = ["PROBED", "SEGMENT_SECONDS", "TRANSCODED", "Source", "enqueue_for"]

SEGMENT_SECONDS = 4.0
PROBED, TRANSCODED = 0.05, 0.90  # progress after each stage; publishing fills the rest


class Source:
    """A job's view of its video: ids, ``media`` (what the pipelines read: the downloaded source
    file, or a reader over its blob), the probe ``info``, the ladder, and ``work``, a folder for
    outputs. All of it lasts as long as the context of :meth:`fetch`."""

    def __init__(
        self, job: Job, video_id: str, media: Path | BlobReader, info: MediaInfo, folder: Path
    ) -> None:
        self.job, self.video_id, self.media, self.info = job, video_id, media, info
        self.ladder: list[Rung] = build_ladder(info, LadderConfig())
        self._folder = folder
        self._downloaded = 0

    @property
    def bytes_read(self) -> int:
        """Bytes of the source fetched from the blob store so far, by downloads and by ranges."""
        return self._downloaded + (self.media.fetched if isinstance(self.media, BlobReader) else 0)

    @classmethod
    @contextmanager
    def fetch(cls, job_id: str) -> Iterator[Source]:
        """The job's source, with a temporary folder removed afterwards.

        A job that carries its source's probe (see :func:`enqueue_for`) gets that probe and a
        reader that fetches only the blocks read; any other job downloads the whole source and
        probes it. Raises ``LookupError`` when the video has no source.
        """
        ctx = runtime.current()
        with ctx.db.session() as session:
            job = session.get(Job, job_id)
            assert job is not None
            session.expunge(job)
            video_id = str(job.args["video_id"])
        source_key = ctx.videos.source(video_id).source_key
        stored = job.args.get("probe")
        with tempfile.TemporaryDirectory(prefix="socialflow-video-") as tmp:
            folder = Path(tmp)
            if stored is not None:
                info = MediaInfo.from_json(stored)
                with closing(BlobReader(ctx.store, source_key, size=info.size)) as reader:
                    yield cls(job, video_id, reader, info, folder)
            else:
                path = folder / "source"
                size = ctx.store.download(source_key, path)
                src = cls(job, video_id, path, probe(path, MediaLimits()), folder)
                src._downloaded = size
                yield src

    def download(self) -> Path:
        """The whole source as a local file (downloaded on the first call when ``media`` is a
        reader): cheaper for work that reads all of it more than once."""
        if isinstance(self.media, Path):
            return self.media
        path = self._folder / "source"
        if not path.exists():
            self._downloaded += runtime.current().store.download(self.media.key, path)
        return path

    @property
    def work(self) -> Path:
        folder = self._folder / "out"
        folder.mkdir(exist_ok=True)
        return folder


def enqueue_for(src: Source, kind: str, **args: Any) -> str:
    """Enqueue a follow-up job of ``src``'s video, with ``src``'s probe in its arguments."""
    job = runtime.current().enqueue(
        kind,
        args={"video_id": src.video_id, "probe": src.info.to_json(), **args},
        owner_id=src.job.owner_id,
        subject=f"video:{src.video_id}",
    )
    return job.id
