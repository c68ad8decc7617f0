"""Property-based checks of the whole API from its OpenAPI document (schemathesis), with every check
schemathesis has: no input, from an anonymous or a signed-in client, makes a 5xx, a status code, a
content type or a header the document does not list, a body that breaks its schema, a schema-valid
request refused or a schema-invalid one accepted, or a 405 whose ``Allow`` header disagrees with
the document. Examples are few and derandomized, so the run stays quick and repeatable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig
from support.platform import Platform, embedded, start_platform

TOKENS: dict[str, str] = {}
#: WHIP and WHEP take their SDP offer as an ``application/sdp`` text body; a tus PATCH its bytes.
schemathesis.serializer.alias("application/sdp", "text/plain")
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")


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
#: Where a schema-valid request may still be refused, with what and why.
#: - 422: the password policy refuses common passwords, the username and fewer than four different
#:   characters, which no JSON Schema states (each 422's description in the document says so).
#: - 422: a display name or bio with control or formatting characters (Unicode categories no JSON
#:   Schema pattern of this document can name).
#: - 422: a post or comment whose text is blank once trimmed, with nothing else to carry (no video,
#:   no repost): the schema can bound a string's length but not say "not only whitespace".
#: - 422: a plan's or a tip's amount outside the bounds of its currency, or a currency the platform
#:   does not take (the settings name them), which no static schema states; likewise an
#:   advertiser's deposit outside the ad currency's bounds.
#: - 400: a webhook delivery without the provider's signature (the fuzzer cannot sign).
#: - 422: an analytics range whose ``from`` is after its ``to``, or longer than a year (two
#:   dates in a schema cannot be compared).
#: - 422: a campaign whose bid is below the reserve price, whose currency is not the platform's
#:   ad currency, whose daily budget is above its budget, whose end is before its start or whose
#:   age_min is above its age_max: rules between fields, or set by the operator.
#: - 426: the live chat and the notifications stream are WebSockets; their document operations
#:   tell the protocol, and a plain HTTP request is answered 426 Upgrade Required.
#: - 422: a push subscription whose endpoint is not https or whose keys are not P-256 keys (the
#:   schema bounds the strings; what they must decode to it cannot say), and a notification
#:   preference naming a time zone the server does not know.
#: Besides these, every paged list refuses a ``cursor`` it did not give out (422 INVALID_CURSOR):
#: a cursor is opaque, so any string is schema-valid.
REFUSED = {
    ("POST", "/api/v1/auth/register"): "422",
    ("POST", "/api/v1/auth/password-reset/confirm"): "422",
    ("POST", "/api/v1/users/me/password"): "422",
    ("POST", "/reset-password"): "422",
    ("PATCH", "/api/v1/users/me"): "422",
    ("POST", "/api/v1/posts"): "422",
    ("POST", "/api/v1/videos/{video_id}/comments"): "422",
    ("GET", "/api/v1/live/streams/{stream_id}/chat"): "426",
    ("POST", "/api/v1/creators/me/plans"): "422",
    ("POST", "/api/v1/tips"): "422",
    ("POST", "/api/v1/ads/funds"): "422",
    ("POST", "/api/v1/payments/webhooks/stripe"): "400",
    ("GET", "/api/v1/videos/{video_id}/analytics"): "422",
    ("GET", "/api/v1/videos/{video_id}/analytics/chart"): "422",
    ("GET", "/api/v1/users/me/analytics"): "422",
    ("POST", "/api/v1/ads/campaigns"): "422",
    ("GET", "/api/v1/notifications/stream"): "426",
    ("POST", "/api/v1/push/subscriptions"): "422",
    ("PUT", "/api/v1/users/me/notification-preferences"): "422",
}
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]


def paged(document: dict) -> dict[tuple[str, str], str]:  # type: ignore[type-arg]
    """Every operation of ``document`` that takes a ``cursor``: it refuses one it did not give out."""
    return {
        (method.upper(), path): "422"
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if any(p.get("name") == "cursor" for p in operation.get("parameters", []))
    }


def config(document: dict) -> SchemathesisConfig:  # type: ignore[type-arg]
    refused = {**paged(document), **REFUSED}
    return SchemathesisConfig.from_dict(
        {
            "operations": [
                {
                    # One filter naming both: separate method and path filters would each match alone.
                    "include-name": f"{method} {path}",
                    "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, status]}},
                }
                for (method, path), status in refused.items()
            ]
        }
    )


def every_check() -> list:  # type: ignore[type-arg]
    load_all_checks()
    return list(CHECKS.get_all())


def fuzz(platform: Platform, headers: dict[str, str]) -> int:
    """Run every operation's generated cases through every check; returns how many operations ran."""
    document = platform.client.get("/openapi.json").json()
    schema = schemathesis.openapi.from_asgi("/openapi.json", platform.client.app, config=config(document))
    checks = every_check()
    ran = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        sent = {} if operation.path in SIGN_OUT else headers

        @FUZZ
        @given(case=operation.as_strategy())
        def run(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(headers=sent, checks=checks)  # noqa: B023 - run() is called right here

        run()
        ran += 1
    return ran


def test_every_check_runs() -> None:
    """The run is as strict as the issue asks: every check schemathesis ships, none left out."""
    names = {check.__name__ for check in every_check()}
    assert {
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "positive_data_acceptance",
        "unsupported_method",
        "allow_header_conformance",
        "ignored_auth",
    } <= names


@pytest.mark.slow
def test_anonymous_client(fuzz_platform: Platform) -> None:
    assert fuzz(fuzz_platform, {}) >= 60


@pytest.mark.slow
def test_signed_in_client(fuzz_platform: Platform) -> None:
    assert fuzz(fuzz_platform, {"Authorization": TOKENS["auth"]}) >= 60
