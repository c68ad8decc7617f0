"""Private videos play only through signed, expiring playback tokens, checked on every playlist
and segment request; PyAV plays the signed URL over real HTTP like any player. Public videos
answer anyone, and their files answer HEAD as players and CDNs send it."""

from __future__ import annotations

import subprocess
import time
from urllib.parse import urljoin

import av
import httpx
import imageio_ffmpeg
import jwt
import m3u8
import pytest
from support.platform import Platform, live_server
from support.videos import ready_video

from control_plane.videos.playback import PLAYBACK_AUDIENCE
from storage.signing import signed_blob_url


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("clips") / "short.mp4"
    source = ["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10:d=2"]
    encode = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", *source, *encode, str(path)], check=True)
    return path.read_bytes()


def relative(url: str, base: str) -> str:
    assert url.startswith(base), url
    return url[len(base) :]


def test_private_video_plays_only_with_a_valid_token(platform: Platform, short_clip: bytes) -> None:
    owner, stranger = platform.user("owner"), platform.user("stranger")
    moderator = platform.user("moderator", role="moderator")
    video_id = ready_video(platform, owner, short_clip)
    client = platform.client
    public = client.get(f"/api/v1/videos/{video_id}", headers=owner).json()
    assert public["visibility"] == "public"
    master_path = public["playback"]["hls"].split(f"/media/videos/{video_id}/")[1]
    assert client.get(f"/media/videos/{video_id}/{master_path}").status_code == 200

    r = client.patch(f"/api/v1/videos/{video_id}", headers=stranger, json={"visibility": "private"})
    assert r.status_code == 403 and r.json()["code"] == "NOT_OWNER"
    r = client.patch(f"/api/v1/videos/{video_id}", headers=owner, json={"visibility": "private"})
    assert r.status_code == 200 and r.json()["visibility"] == "private"
    assert "/t/" in r.json()["playback"]["hls"]  # the owner's own view is signed

    # Unsigned playback, strangers and their tokens are refused; the video is not revealed to them.
    r = client.get(f"/media/videos/{video_id}/{master_path}")
    assert r.status_code == 403 and r.json()["code"] == "PLAYBACK_TOKEN_REQUIRED"
    assert client.get(f"/api/v1/videos/{video_id}", headers=stranger).status_code == 404
    r = client.post(f"/api/v1/videos/{video_id}/playback-tokens", headers=stranger, json={"ttl": 600})
    assert r.status_code == 404
    assert (
        client.post(f"/api/v1/videos/{video_id}/playback-tokens", headers=moderator, json={}).status_code
        == 201
    )

    r = client.post(f"/api/v1/videos/{video_id}/playback-tokens", headers=owner, json={"ttl": 600})
    assert r.status_code == 201, r.text
    grant = r.json()
    token, hls = grant["token"], grant["playback"]["hls"]
    assert f"/t/{token}/" in hls and f"/t/{token}/" in grant["thumbnail"]

    with live_server(platform) as base:
        platform.services.settings.public_url = base
        grant = client.post(f"/api/v1/videos/{video_id}/playback-tokens", headers=owner, json={}).json()
        hls = grant["playback"]["hls"]
        # A player resolves every playlist and segment relative to the signed URL.
        master = m3u8.loads(httpx.get(hls).text, uri=hls)
        media = m3u8.loads(
            httpx.get(master.playlists[0].absolute_uri).text, uri=master.playlists[0].absolute_uri
        )
        segment = media.segments[0].absolute_uri
        assert f"/t/{grant['token']}/" in segment
        response = httpx.get(segment)
        assert response.status_code == 200 and response.headers["cache-control"].startswith("private")
        with av.open(hls) as container:
            frames = sum(1 for _ in container.decode(video=0))
        assert frames == 20  # 2 s at 10 fps
        assert httpx.get(grant["playback"]["dash"]).status_code == 200
        assert httpx.get(grant["thumbnail"]).headers["content-type"] == "image/jpeg"

        # The same segment with no token, a tampered one, or another video's is refused.
        path = segment.split(f"/t/{grant['token']}/")[1]
        assert httpx.get(f"{base}/media/videos/{video_id}/{path}").status_code == 403
        tampered = grant["token"][:-2] + ("AA" if not grant["token"].endswith("AA") else "BB")
        r = httpx.get(f"{base}/media/videos/{video_id}/t/{tampered}/{path}")
        assert r.status_code == 403 and r.json()["code"] == "PLAYBACK_TOKEN_INVALID"
        other_id = ready_video(platform, owner, short_clip)
        other = client.post(f"/api/v1/videos/{other_id}/playback-tokens", headers=owner, json={}).json()[
            "token"
        ]
        assert httpx.get(f"{base}/media/videos/{video_id}/t/{other}/{path}").status_code == 403

    # Back to public: unsigned playback works again.
    client.patch(f"/api/v1/videos/{video_id}", headers=owner, json={"visibility": "public"})
    assert client.get(f"/media/videos/{video_id}/{master_path}").status_code == 200


def test_playback_tokens_expire_and_refuse_forgeries(platform: Platform, short_clip: bytes) -> None:
    owner = platform.user("owner")
    video_id = ready_video(platform, owner, short_clip)
    platform.client.patch(f"/api/v1/videos/{video_id}", headers=owner, json={"visibility": "private"})
    ring = platform.services.playback.ring
    now = int(time.time())

    def forged(claims: dict[str, object], key: bytes | None = None, alg: str = "HS256") -> str:
        return jwt.encode(claims, key or ring.signing_key(), algorithm=alg, headers={"kid": ring.current})

    good = {"sub": video_id, "aud": PLAYBACK_AUDIENCE, "iat": now, "exp": now + 60}
    master_path = platform.client.get(f"/api/v1/videos/{video_id}", headers=owner).json()["playback"]["hls"]
    url = f"/media/videos/{video_id}/t/{{}}/" + master_path.split("/t/")[1].split("/", 1)[1]
    assert platform.client.get(url.format(forged(good))).status_code == 200
    expired = platform.client.get(url.format(forged({**good, "iat": now - 120, "exp": now - 60})))
    assert expired.status_code == 403 and expired.json()["code"] == "PLAYBACK_TOKEN_EXPIRED"
    for bad in (
        forged({**good, "aud": "socialflow-api"}),  # an access token's audience
        forged(good, key=b"k" * 32),  # signed by a key we do not hold
        jwt.encode(good, None, algorithm="none"),
        forged({k: v for k, v in good.items() if k != "exp"}),
    ):
        r = platform.client.get(url.format(bad))
        assert r.status_code == 403 and r.json()["code"] == "PLAYBACK_TOKEN_INVALID", bad
    # An access token is not a playback token.
    access = owner["Authorization"].split()[1]
    assert platform.client.get(url.format(access)).status_code == 403
    # The server caps what may be asked for.
    r = platform.client.post(f"/api/v1/videos/{video_id}/playback-tokens", headers=owner, json={"ttl": 10**9})
    expires = r.json()["expires_at"]
    assert r.status_code == 201 and expires < "2100"
    from datetime import datetime

    lifetime = datetime.fromisoformat(expires).timestamp() - time.time()
    assert lifetime <= platform.services.settings.playback_token_max_ttl + 5


def test_public_ready_video_answers_anonymous_callers(platform: Platform, short_clip: bytes) -> None:
    owner = platform.user("publisher")
    video_id = ready_video(platform, owner, short_clip)
    anonymous = platform.client.get(f"/api/v1/videos/{video_id}")
    assert anonymous.status_code == 200, anonymous.text
    assert anonymous.json() == platform.client.get(f"/api/v1/videos/{video_id}", headers=owner).json()
    assert anonymous.json()["playback"]["hls"].endswith(".m3u8")
    # A token that is there must be valid: a bad one is not taken for no token.
    bad = platform.client.get(f"/api/v1/videos/{video_id}", headers={"Authorization": "Bearer nonsense"})
    assert bad.status_code == 401
    # Unlisted plays by link too; private, and anything not ready, stays hidden (404, not 401).
    platform.client.patch(f"/api/v1/videos/{video_id}", headers=owner, json={"visibility": "unlisted"})
    assert platform.client.get(f"/api/v1/videos/{video_id}").status_code == 200
    platform.client.patch(f"/api/v1/videos/{video_id}", headers=owner, json={"visibility": "private"})
    hidden = platform.client.get(f"/api/v1/videos/{video_id}")
    assert hidden.status_code == 404 and hidden.json()["code"] == "VIDEO_NOT_FOUND"
    assert platform.client.get("/api/v1/videos/0123456789abcdef").status_code == 404
    # The rest of the video's routes still need a token.
    assert platform.client.get(f"/api/v1/videos/{video_id}/claims").status_code == 401


def test_head_on_media_answers_like_get_without_a_body(platform: Platform, short_clip: bytes) -> None:
    owner = platform.user("header")
    video_id = ready_video(platform, owner, short_clip)
    video = platform.client.get(f"/api/v1/videos/{video_id}").json()
    base = f"/media/videos/{video_id}/"
    master = base + video["playback"]["hls"].split(base)[1]
    listed = platform.client.get(master).text.splitlines()
    rung = urljoin(master, next(line for line in listed if line.endswith(".m3u8")))
    listed = platform.client.get(rung).text.splitlines()
    segment = urljoin(rung, next(line for line in listed if line and not line.startswith("#")))
    for path in (master, segment, base + video["thumbnail"].split(base)[1]):
        got, head = platform.client.get(path), platform.client.head(path)
        assert got.status_code == head.status_code == 200, (path, head.text)
        assert head.content == b""
        assert head.headers["content-length"] == str(len(got.content)) == got.headers["content-length"]
        for name in ("content-type", "accept-ranges", "cache-control", "etag"):
            assert head.headers[name] == got.headers[name], name
        ranged = platform.client.head(path, headers={"Range": "bytes=0-9"})
        assert ranged.status_code == 206 and ranged.headers["content-range"].startswith("bytes 0-9/")
        assert ranged.headers["content-length"] == "10" and ranged.content == b""
    assert platform.client.head(base + "no-such-file.m4s").status_code == 404
    assert platform.client.head(base + "../../secrets").status_code == 404
    # The owner's source answers HEAD too; not to anyone else.
    source = platform.client.head(f"/api/v1/videos/{video_id}/source", headers=owner)
    assert source.status_code == 200 and source.headers["content-length"] == str(len(short_clip))
    assert platform.client.head(f"/api/v1/videos/{video_id}/source").status_code == 401


def test_patch_refuses_unknown_fields(platform: Platform, short_clip: bytes) -> None:
    owner = platform.user("patcher")
    video_id = ready_video(platform, owner, short_clip)
    r = platform.client.patch(
        f"/api/v1/videos/{video_id}", headers=owner, json={"title": "New", "titel": "x"}
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "VALIDATION_FAILED" and "titel" in r.json()["detail"]
    assert platform.client.get(f"/api/v1/videos/{video_id}").json()["title"] != "New"  # nothing applied
    r = platform.client.patch(f"/api/v1/videos/{video_id}", headers=owner, json={"title": "New"})
    assert r.status_code == 200 and r.json()["title"] == "New"


def test_signed_blobs_answer_head(platform: Platform) -> None:
    platform.services.store.put("exports/report.bin", b"x" * 1000)
    url = signed_blob_url(
        platform.services.settings.secret_bytes, "exports/report.bin", 60, None, time.time()
    )
    head = platform.client.head(url, headers={"Range": "bytes=10-"})
    assert head.status_code == 206 and head.content == b"" and head.headers["content-length"] == "990"
    assert platform.client.head(url.replace("signature=", "signature=0")).status_code == 403
