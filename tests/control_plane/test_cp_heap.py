"""A server process's startup heap is set apart from the collector's full passes."""

from __future__ import annotations

import gc

from control_plane.core.heap import FULL_EVERY, settle


def test_settle_freezes_what_startup_left_and_spaces_the_full_collections() -> None:
    threshold = gc.get_threshold()
    try:
        long_lived = [object() for _ in range(1000)]
        settle()
        assert gc.get_freeze_count() >= len(long_lived)
        assert gc.get_threshold() == (threshold[0], threshold[1], FULL_EVERY)
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
