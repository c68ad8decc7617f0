"""Settings: embedded defaults, production forms, refused secrets and schemes."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from control_plane.core.settings import ConfigError, load_settings

PROD = {"database_url": "postgresql+psycopg://u:p@db/sf"}


def test_embedded_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert s.embedded and s.in_process_broker
    assert s.data_dir == tmp_path / ".socialflow"
    assert s.effective_database_url == f"sqlite:///{tmp_path}/.socialflow/socialflow.db"
    assert s.effective_storage_url == f"file://{tmp_path}/.socialflow/blobs"
    assert s.effective_public_url == "http://127.0.0.1:8000"
    assert (s.http_port, s.rtmp_port) == (8000, 1935)


def test_embedded_secret_is_generated_once_and_private(tmp_path: Path) -> None:
    first = load_settings(data_dir=tmp_path)
    second = load_settings(data_dir=tmp_path)
    assert first.secret_key == second.secret_key and len(first.secret_key or "") >= 32
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600


def test_environment_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCIALFLOW_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("SOCIALFLOW_HTTP_PORT", "9001")
    monkeypatch.setenv("SOCIALFLOW_PUBLIC_URL", "https://cdn.example.com/")
    s = load_settings()
    assert s.data_dir == tmp_path / "d" and s.http_port == 9001
    assert s.effective_public_url == "https://cdn.example.com"


@pytest.mark.parametrize("secret", [None, "", "changeme", "SECRET", "short-but-random-1"])
def test_production_refuses_missing_known_or_short_secret(tmp_path: Path, secret: str | None) -> None:
    with pytest.raises(ConfigError, match="SOCIALFLOW_SECRET_KEY"):
        load_settings(data_dir=tmp_path, secret_key=secret, **PROD)


def test_production_accepts_a_strong_secret_and_writes_none(tmp_path: Path) -> None:
    s = load_settings(data_dir=tmp_path, secret_key="x" * 16 + "Q7f!" * 5, **PROD)
    assert not s.embedded
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("database_url", "mysql://db/sf"),
        ("broker_url", "kafka://broker"),
        ("redis_url", "memcached://x"),
        ("storage_url", "gcs://bucket"),
    ],
)
def test_unknown_url_schemes_are_one_clear_line(tmp_path: Path, field: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(data_dir=tmp_path, **{field: value})
    message = str(info.value)
    assert message.startswith(f"SOCIALFLOW_{field.upper()}: unknown")
    assert "\n" not in message


def test_a_list_setting_that_is_not_json_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOCIALFLOW_CORS_ORIGINS", "[https://a.example")
    with pytest.raises(ConfigError) as info:
        load_settings(data_dir=tmp_path)
    message = str(info.value)
    assert message.startswith("SOCIALFLOW_CORS_ORIGINS: not valid JSON")
    assert "\n" not in message
