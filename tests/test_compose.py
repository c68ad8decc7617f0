"""compose.yml: valid against the compose specification, and wired by the CONTRACT.md variables.

No Docker engine runs here, so the file is checked against the compose-spec JSON schema that
check-jsonschema vendors, and its wiring is checked against our own CLI.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from workers.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "compose.yml"
CONTRACT_VARS = {
    "SOCIALFLOW_DATABASE_URL",
    "SOCIALFLOW_BROKER_URL",
    "SOCIALFLOW_REDIS_URL",
    "SOCIALFLOW_STORAGE_URL",
    "SOCIALFLOW_SECRET_KEY",
    "SOCIALFLOW_PUBLIC_URL",
    "SOCIALFLOW_DATA_DIR",
}


def load() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_matches_the_compose_specification() -> None:
    exe = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run(
        [str(exe), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_has_every_role_and_backend() -> None:
    services = load()["services"]
    assert {"postgres", "redis", "s3", "migrate", "api", "worker", "worker-gpu", "rtmp"} <= set(services)
    assert services["worker-gpu"]["profiles"] == ["gpu"]
    assert services["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"][0]["driver"] == "nvidia"
    assert services["api"]["ports"] == ["8000:8000"] and services["rtmp"]["ports"] == ["1935:1935"]


def test_socialflow_services_use_contract_variables_and_real_commands() -> None:
    services = load()["services"]
    commands = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    for name in ("migrate", "api", "worker", "worker-gpu", "rtmp"):
        env = services[name]["environment"]
        assert CONTRACT_VARS <= set(env), name
        assert env["SOCIALFLOW_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["SOCIALFLOW_BROKER_URL"].startswith("redis://")
        assert env["SOCIALFLOW_STORAGE_URL"].startswith("s3://")
        argv = services[name]["command"]
        assert argv[0] == "socialflow" and argv[1] in commands, argv


def test_migrate_prepares_the_database_and_the_bucket_before_the_roles_start() -> None:
    services = load()["services"]
    migrate = services["migrate"]
    assert migrate["command"][:2] == ["socialflow", "migrate"] and "--wait" in migrate["command"]
    assert migrate["depends_on"]["s3"] == {"condition": "service_started"}
    for name in ("api", "worker", "worker-gpu", "rtmp"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    build_parser().parse_args(migrate["command"][1:])  # a command line our CLI accepts


def test_no_secret_has_a_default() -> None:
    text = COMPOSE.read_text()
    for var in ("SOCIALFLOW_SECRET_KEY", "POSTGRES_PASSWORD", "S3_ACCESS_KEY", "S3_SECRET_KEY"):
        uses = re.findall(r"\$\{" + var + r"([^}]*)\}", text)
        assert uses, var
        assert all(u.startswith(":?") for u in uses), (var, uses)
