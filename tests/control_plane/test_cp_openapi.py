"""The OpenAPI document says what the server does: every error of every operation as problem+json,
who may call it, the live chat WebSocket; and a 405 names every method of its path."""

from __future__ import annotations

from support.platform import Platform

from control_plane.core.settings import load_settings

PROBLEM = "application/problem+json"
#: Operations whose refusals are HTML pages (the pages behind mailed links), validation aside.
HTML_PAGES = {"/verify-email", "/reset-password", "/api/v1/notifications/unsubscribe"}


def test_every_error_is_documented_as_problem_json(platform: Platform) -> None:
    spec = platform.client.get("/openapi.json").json()
    assert "Problem" in spec["components"]["schemas"]
    assert "HTTPValidationError" not in spec["components"]["schemas"]  # FastAPI's 422, never sent
    operations = 0
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            operations += 1
            errors = {s: r for s, r in operation["responses"].items() if s[0] in "45"}
            if any(p["in"] == "path" for p in operation.get("parameters", [])):
                assert "404" in errors, (method, path)  # a path parameter names what may not exist
            for status, response in errors.items():
                kinds = set(response.get("content", {}))
                pages = ({"text/html"}, {PROBLEM}) if path in HTML_PAGES else ({PROBLEM},)
                assert kinds in pages, (method, path, status, kinds)
    assert operations >= 60


def test_security_and_problems_follow_from_each_route(platform: Platform) -> None:
    paths = platform.client.get("/openapi.json").json()["paths"]
    assert paths["/api/v1/users/me"]["get"]["security"] == [{"bearer": []}]
    assert {"401", "429"} <= set(paths["/api/v1/users/me"]["get"]["responses"])
    assert paths["/api/v1/videos/{video_id}"]["get"]["security"] == [{"bearer": []}, {}]  # optional
    assert "403" in paths["/api/v1/admin/audit"]["get"]["responses"]  # a role check
    assert (
        "security" not in paths["/healthz"]["get"] and "security" not in paths["/api/v1/auth/login"]["post"]
    )
    register = paths["/api/v1/auth/register"]["post"]["responses"]
    assert {"400", "409", "413", "422", "429"} <= set(register)
    assert paths["/metrics"]["get"]["responses"]["200"]["content"] == {"text/plain": {}}
    assert {"200", "206", "416"} <= set(paths["/media/videos/{video_id}/{path}"]["head"]["responses"])


def test_upload_length_says_this_servers_limit(platform: Platform) -> None:
    create = platform.client.get("/openapi.json").json()["paths"]["/api/v1/uploads/"]["post"]
    headers = {p["name"]: p for p in create["parameters"] if p["in"] == "header"}
    assert headers["Tus-Resumable"]["required"] and headers["Tus-Resumable"]["schema"]["enum"] == ["1.0.0"]
    maximum = headers["Upload-Length"]["schema"]["maximum"]
    assert maximum == platform.services.settings.upload_max_bytes == load_settings().upload_max_bytes


def test_405_allows_every_method_of_the_path(platform: Platform) -> None:
    r = platform.client.options("/api/v1/contentid/references")
    assert r.status_code == 405 and r.headers["content-type"].startswith(PROBLEM)
    assert r.headers["allow"] == "GET, POST"
    assert r.json()["code"] == "METHOD_NOT_ALLOWED" and "GET, POST" in r.json()["detail"]
    assert platform.client.delete("/healthz").headers["allow"] == "GET"
    assert platform.client.put("/media/videos/x/master.m3u8").headers["allow"] == "GET, HEAD"
    r = platform.client.post("/api/v1/uploads/abc")
    assert r.status_code == 405 and r.headers["allow"] == "DELETE, HEAD, OPTIONS, PATCH"


def test_live_chat_websocket_is_documented(platform: Platform) -> None:
    chat = platform.client.get("/openapi.json").json()["paths"]["/api/v1/live/streams/{stream_id}/chat"][
        "get"
    ]
    protocol = chat["responses"]["101"]["description"]
    assert "WebSocket" in protocol and '"type": "message"' in protocol and "access_token" in protocol
    r = platform.client.get("/api/v1/live/streams/abc/chat")
    assert r.status_code == 426 and r.headers["upgrade"] == "websocket"
    assert r.json()["code"] == "WEBSOCKET_REQUIRED"


def test_ids_out_of_range_are_refused_not_crashed(platform: Platform) -> None:
    headers = platform.user("ranger")
    r = platform.client.delete(f"/api/v1/contentid/references/{2**64}", headers=headers)
    assert r.status_code == 422 and r.json()["code"] == "VALIDATION_FAILED"
