"""Settings reach the live pipeline: STUN servers and the viewer cap for WebRTC, the ladder's rungs."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.platform import embedded, start_platform

from control_plane.core.settings import ConfigError, load_settings
from pipelines.webrtc import IceServer
from workers.live import build_ingest

STUN = "stun:stun.example.org:3478"


def test_ice_servers_and_viewer_cap_reach_the_node(tmp_path: Path) -> None:
    gen = start_platform(
        embedded(tmp_path, webrtc_ice_servers=[STUN], webrtc_max_viewers=3), inprocess_workers=False
    )
    platform = next(gen)
    try:
        ingest = build_ingest(platform.services)
        assert ingest.webrtc is not None
        try:
            assert ingest.webrtc.limits.ice_servers() == (IceServer(STUN),)
            assert ingest.webrtc.limits.max_viewers == 3
            assert ingest.webrtc.whip_settings.ice_servers() == (IceServer(STUN),)
        finally:
            ingest.webrtc.stop()
    finally:
        for _ in gen:
            pass


def test_only_stun_and_turn_urls_are_taken(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a STUN or TURN URL"):
        load_settings(data_dir=tmp_path, webrtc_ice_servers=["http://stun.example.org"])


@pytest.mark.parametrize(
    ("rungs", "ladder", "expected"), [([], False, None), ([360, 720, 360], True, (720, 360))]
)
def test_live_rungs_setting_shapes_the_ladder(
    tmp_path: Path, rungs: list[int], ladder: bool, expected: tuple[int, ...] | None
) -> None:
    gen = start_platform(embedded(tmp_path, live_rungs=rungs), inprocess_workers=False)
    platform = next(gen)
    try:
        live = build_ingest(platform.services, webrtc=False).sinks.settings
        assert live is not None and live.ladder is ladder
        if expected is not None:
            assert live.rungs == expected
    finally:
        for _ in gen:
            pass
    with pytest.raises(ConfigError, match="rungs"):
        load_settings(data_dir=tmp_path, live_rungs=[100])
