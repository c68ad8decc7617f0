"""Property-based checks of the whole API from its OpenAPI document (schemathesis): no input, from
an anonymous or a signed-in client, makes a 5xx or a response that breaks its own schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from support.platform import Platform, embedded, start_platform

TOKENS: dict[str, str] = {}
#: WHIP and WHEP take their SDP offer as an ``application/sdp`` text body.
schemathesis.serializer.alias("application/sdp", "text/plain")


@pytest.fixture(scope="module")
def fuzz_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    gen = start_platform(embedded(Path(tmp_path_factory.mktemp("fuzz"))))
    platform = next(gen)
    TOKENS["auth"] = platform.user("fuzzer")["Authorization"]
    yield platform
    for _ in gen:
        pass


FUZZ = settings(
    max_examples=10, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
#: Signing the shared fuzzing token out would leave every later example anonymous.
SIGN_OUT = ("/api/v1/auth/logout", "/api/v1/auth/logout-all")


CHECKS = [not_a_server_error, response_schema_conformance]


def fuzz(platform: Platform, headers: dict[str, str]) -> int:
    """Run every operation's generated cases; returns how many operations ran."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", platform.client.app)
    ran = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        sent = {} if operation.path in SIGN_OUT else headers

        @FUZZ
        @given(case=operation.as_strategy())
        def run(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(headers=sent, checks=CHECKS)  # noqa: B023 - run() is called right here

        run()
        ran += 1
    return ran


@pytest.mark.slow
def test_anonymous_client(fuzz_platform: Platform) -> None:
    assert fuzz(fuzz_platform, {}) >= 35


@pytest.mark.slow
def test_signed_in_client(fuzz_platform: Platform) -> None:
    assert fuzz(fuzz_platform, {"Authorization": TOKENS["auth"]}) >= 35
