"""What removing rows leaves to do once they are committed: blobs to delete and follow-up work.

Rows go first, in one transaction, and their blobs after the commit. That order is what keeps a
running job from leaving files behind: a job writes its files and then asks whether its row still
exists, removing what it wrote when it does not, so every file lands either before the purge or
in front of a job that sees the row gone. A purge the store refuses is handed to the
``blobs.purge`` job, which retries it with backoff, so nothing stays behind for good.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from storage import BlobStore, InvalidKey, StorageError, validate_prefix

__all__ = ["Leftovers", "purge"]

log = logging.getLogger(__name__)


@dataclass
class Leftovers:
    """Collected while rows are removed; ``settle`` runs it after the commit."""

    #: Blob keys to delete (a missing one is fine).
    keys: list[str] = field(default_factory=list)
    #: Prefixes (ending in ``/``) under which every blob is deleted.
    prefixes: list[str] = field(default_factory=list)
    #: Work that must wait for the commit (enqueueing a job that reads the database).
    then: list[Callable[[], None]] = field(default_factory=list)

    def add(self, other: Leftovers) -> None:
        self.keys += other.keys
        self.prefixes += other.prefixes
        self.then += other.then

    def settle(self, store: BlobStore, enqueue: Callable[..., object]) -> None:
        """Delete the blobs, then run the follow-up work. If the store fails, the deletion is left
        to the ``blobs.purge`` job (``enqueue`` is the jobs port) and the work still runs."""
        try:
            purge(store, self.keys, self.prefixes)
        except StorageError as exc:
            log.warning("blob purge deferred to a job: %s", exc)
            enqueue("blobs.purge", args={"keys": self.keys, "prefixes": self.prefixes}, subject="blobs")
        for action in self.then:
            action()


def purge(store: BlobStore, keys: list[str], prefixes: list[str]) -> int:
    """Delete ``keys`` and every blob under ``prefixes``; returns how many deletions were sent.

    A prefix must be a folder (``a/b/``): an empty or partial one would reach other owners' blobs,
    so it raises ``ValueError`` before anything is deleted.
    """
    for prefix in prefixes:
        try:
            folder = prefix.endswith("/") and validate_prefix(prefix) != ""
        except InvalidKey:
            folder = False
        if not folder:
            raise ValueError(f"refusing to purge {prefix!r}: not a folder prefix")
    for key in keys:
        store.delete(key)
    return len(keys) + sum(store.delete_prefix(prefix) for prefix in prefixes)
