"""The ffmpeg side of ``socialflow bench transcode``: test clips, the two ffmpeg contenders, PSNR.

Every contender gets the x264 settings our pipeline uses for a rung (see
:mod:`pipelines.encoding`): the rung's preset, average bitrate, ``maxrate`` 1.5x and ``bufsize``
2x the bitrate, a closed GOP of exactly one segment (``keyint`` = frames per segment,
``scenecut=0``), no B-frames, bicubic scaling to the rung size, and one stereo AAC track.
Outputs are CMAF-style HLS renditions (``init.mp4`` + ``seg_NNNNN.m4s`` + ``playlist.m3u8``).
"""

from __future__ import annotations

import math
import re
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from benchmarks._common import BenchError
from pipelines import Rung
from pipelines.ladder import fps_fraction

__all__ = [
    "Clip",
    "ffmpeg_exe",
    "ffmpeg_version",
    "join_rendition",
    "make_clip",
    "per_rung_commands",
    "psnr",
    "split_command",
]

_PSNR_LINE = re.compile(r"\[psnr@r(\d+) @ [^\]]*\] PSNR .*? average:(\S+)")


@dataclass(frozen=True)
class Clip:
    """A synthetic test clip: ``width`` x ``height`` pixels, ``duration`` seconds at ``fps``."""

    name: str
    width: int
    height: int
    duration: float
    fps: int = 30

    @property
    def description(self) -> str:
        return (
            f"{self.width}x{self.height} {self.fps} fps, {self.duration:g} s: ffmpeg testsrc2 (moving "
            "patterns, colour bars, a running clock) under temporal film-grain noise, with a stereo "
            "48 kHz beeping sine plus pink noise; stored as x264 CRF 21 (2 s GOP, B-frames) + AAC 192k"
        )


def ffmpeg_exe() -> str:
    """The ffmpeg CLI shipped with imageio-ffmpeg (a ``BenchError`` when it is missing)."""
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError) as exc:
        raise BenchError(f"no ffmpeg CLI available: {exc}") from exc


def ffmpeg_version() -> str:
    first = subprocess.run([ffmpeg_exe(), "-version"], capture_output=True, text=True, check=True)
    return first.stdout.splitlines()[0]


def _run(command: list[str]) -> str:
    """Run an ffmpeg command; its stderr (the log). ``BenchError`` with the log tail on failure."""
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"ffmpeg failed ({done.returncode}): {' '.join(command)}\n{done.stderr[-2000:]}")
    return done.stderr


def make_clip(clip: Clip, cache_dir: Path) -> Path:
    """The clip's file in ``cache_dir``, generated once (later runs reuse it)."""
    path = cache_dir / f"v2-{clip.name}-{clip.width}x{clip.height}-{clip.fps}fps-{clip.duration:g}s.mp4"
    if path.is_file():
        return path
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.stem + ".partial.mp4")
    size, d = f"{clip.width}x{clip.height}", f"{clip.duration:g}"
    _run(
        [ffmpeg_exe(), "-y", "-hide_banner", "-nostats", "-loglevel", "error",
         "-f", "lavfi", "-i", f"testsrc2=s={size}:r={clip.fps}:d={d}",
         "-f", "lavfi", "-i", f"sine=f=330:beep_factor=4:sample_rate=48000:d={d}",
         "-f", "lavfi", "-i", f"anoisesrc=c=pink:a=0.05:r=48000:d={d}",
         "-filter_complex",
         "[0:v]noise=alls=6:allf=t+u,format=yuv420p[v];[1:a][2:a]amix=inputs=2,aformat=channel_layouts=stereo[a]",
         "-map", "[v]", "-map", "[a]",
         "-c:v", "libx264", "-preset", "veryfast", "-crf", "21", "-g", str(2 * clip.fps), "-bf", "2",
         "-c:a", "aac", "-b:a", "192k", "-movflags", "+faststart", str(partial)]
    )  # fmt: skip
    partial.replace(path)
    return path


def gop_frames(rung: Rung, segment_duration: float) -> int:
    """Frames per segment, the GOP our encoders use (``pipelines.branches``)."""
    return math.ceil(Fraction(segment_duration).limit_denominator(1000) * fps_fraction(rung.fps))


def _x264(rung: Rung, segment_duration: float) -> list[str]:
    gop = gop_frames(rung, segment_duration)
    rate = rung.video_bitrate
    return [
        "-c:v", "libx264", "-preset", rung.preset, "-b:v", str(rate),
        "-maxrate", str(rate * 3 // 2), "-bufsize", str(rate * 2), "-g", str(gop),
        "-x264-params", f"keyint={gop}:scenecut=0:bframes=0:open-gop=0",
        "-threads", str(rung.threads), "-pix_fmt", "yuv420p", "-r", str(fps_fraction(rung.fps)),
    ]  # fmt: skip


def _hls(folder: Path, segment_duration: float) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    return [
        "-f", "hls", "-hls_time", f"{segment_duration:g}", "-hls_playlist_type", "vod",
        "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4",
        "-hls_segment_filename", str(folder / "seg_%05d.m4s"), str(folder / "playlist.m3u8"),
    ]  # fmt: skip


def _audio(audio_bitrate: int) -> list[str]:
    return ["-c:a", "aac", "-b:a", str(audio_bitrate), "-ac", "2"]


def _head(src: Path) -> list[str]:
    return [ffmpeg_exe(), "-y", "-hide_banner", "-nostats", "-loglevel", "info", "-i", str(src)]


def split_command(src: Path, ladder: list[Rung], out: Path, segment_duration: float) -> list[str]:
    """(a) One ffmpeg process: decode once, ``split`` to every rung's scaler and encoder, audio once."""
    labels = "".join(f"[s{i}]" for i in range(len(ladder)))
    graph = [f"[0:v]split={len(ladder)}{labels}"]
    graph += [f"[s{i}]scale={r.width}:{r.height}:flags=bicubic[o{i}]" for i, r in enumerate(ladder)]
    command = _head(src) + ["-filter_complex", ";".join(graph)]
    for i, rung in enumerate(ladder):
        command += [
            "-map",
            f"[o{i}]",
            *_x264(rung, segment_duration),
            *_hls(out / rung.name, segment_duration),
        ]
    audio_bitrate = max(r.audio_bitrate for r in ladder)
    return command + ["-map", "0:a:0", *_audio(audio_bitrate), *_hls(out / "audio", segment_duration)]


def per_rung_commands(src: Path, ladder: list[Rung], out: Path, segment_duration: float) -> list[list[str]]:
    """(b) One ffmpeg process per rung (video only), then one for the audio, run one after another."""
    commands = [
        _head(src)
        + ["-map", "0:v:0", "-vf", f"scale={r.width}:{r.height}:flags=bicubic", *_x264(r, segment_duration)]
        + _hls(out / r.name, segment_duration)
        for r in ladder
    ]
    audio_bitrate = max(r.audio_bitrate for r in ladder)
    commands.append(
        _head(src) + ["-map", "0:a:0", *_audio(audio_bitrate), *_hls(out / "audio", segment_duration)]
    )
    return commands


def run_commands(commands: list[list[str]]) -> None:
    for command in commands:
        _run(command)


def join_rendition(folder: Path) -> Path:
    """``init.mp4`` followed by every ``seg_*.m4s`` in order: one playable fragmented MP4."""
    segments = sorted(folder.glob("seg_*.m4s"))
    if not (folder / "init.mp4").is_file() or not segments:
        raise BenchError(f"{folder} holds no CMAF rendition")
    joined = folder / "joined.mp4"
    with open(joined, "wb") as out:
        for part in [folder / "init.mp4", *segments]:
            out.write(part.read_bytes())
    return joined


def psnr(src: Path, renditions: list[tuple[Rung, Path]]) -> list[float]:
    """Average PSNR (dB, ffmpeg's ``psnr`` filter, Y/U/V weighted) of each rendition against
    the source scaled (bicubic) to its size, frame by frame from each file's first frame.
    One ffmpeg process decodes the source once for all renditions."""
    n = len(renditions)
    labels = "".join(f"[s{i}]" for i in range(n))
    graph = [f"[0:v]setpts=PTS-STARTPTS,split={n}{labels}"]
    command = [ffmpeg_exe(), "-hide_banner", "-nostats", "-i", str(src)]
    for i, (rung, path) in enumerate(renditions):
        command += ["-i", str(path)]
        graph.append(f"[s{i}]scale={rung.width}:{rung.height}:flags=bicubic[r{i}]")
        graph.append(f"[{i + 1}:v]setpts=PTS-STARTPTS[d{i}]")
        graph.append(f"[d{i}][r{i}]psnr@r{i}[x{i}]")
    command += ["-filter_complex", ";".join(graph)]
    for i in range(n):
        command += ["-map", f"[x{i}]", "-f", "null", "-"]
    found = {int(m.group(1)): float(m.group(2)) for m in _PSNR_LINE.finditer(_run(command))}
    if sorted(found) != list(range(n)):
        raise BenchError(f"ffmpeg reported PSNR for {sorted(found)} of {n} renditions")
    return [found[i] for i in range(n)]
