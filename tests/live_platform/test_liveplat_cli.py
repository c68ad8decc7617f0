"""Starting the ingest: ``socialflow rtmp`` refuses to run without a broker to hand recordings to,
and a taken port is one line for the operator. (``socialflow serve`` with its RTMP ingest is run
end to end by test_liveplat_bench.py.)"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from support.platform import Platform

from control_plane.core.settings import ConfigError
from workers.cli import main
from workers.live import RtmpThread, build_ingest


def test_rtmp_command_needs_a_broker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [n for n in os.environ if n.startswith("SOCIALFLOW_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SOCIALFLOW_DATA_DIR", str(tmp_path / "data"))
    assert main(["rtmp", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("socialflow: error: ")
    assert "SOCIALFLOW_BROKER_URL" in err and "socialflow serve" in err


def test_a_taken_rtmp_port_is_one_line_for_the_operator(platform: Platform) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"cannot listen for RTMP on 127.0.0.1:{port}"):
            RtmpThread("127.0.0.1", port, build_ingest(platform.services)).start()
