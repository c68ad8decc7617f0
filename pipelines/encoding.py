"""Encoders that write one rendition each into a fragmented MP4 work file.

The work file is an intermediate: :mod:`pipelines.packaging.cmaf` cuts it into the published
init segment and media segments. Video keyframes are forced on the segment boundaries given
by :mod:`pipelines.timeline` and nowhere else (no scene-cut keyframes, no B-frames, so decode
order equals presentation order and every segment starts with an IDR frame).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Container
from fractions import Fraction
from pathlib import Path

import av
import av.error
from av.audio.stream import AudioStream
from av.video.frame import PictureType
from av.video.stream import VideoStream

from pipelines.errors import EncoderUnavailable
from pipelines.ladder import Rung, fps_fraction
from pipelines.scaler import Scaler

__all__ = ["VideoEncoder", "AudioEncoder", "WORK_MUX_OPTIONS", "audio_rate_for"]

log = logging.getLogger(__name__)

_QUEUE_FRAMES = 8
"""Decoded frames each encoder's thread may lag behind the decoder (bounds memory)."""

WORK_MUX_OPTIONS = {"movflags": "empty_moov+default_base_moof+frag_keyframe", "frag_duration": "2000000"}


def _encoder_options(rung: Rung, gop: int) -> dict[str, str]:
    rate, peak, buffer = rung.video_bitrate, rung.video_bitrate * 3 // 2, rung.video_bitrate * 2
    vbv = {"maxrate": str(peak), "bufsize": str(buffer)}
    if rung.encoder == "libx264":
        params = f"keyint={gop}:scenecut=0:bframes=0:open-gop=0"
        return {"preset": rung.preset, "x264-params": params, "forced-idr": "1", **vbv}
    if rung.encoder == "libx265":
        params = f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0:open-gop=0:log-level=error"
        return {"preset": rung.preset, "x265-params": params, "forced-idr": "1", **vbv}
    if rung.encoder == "libsvtav1":
        return {"preset": "8", "svtav1-params": f"keyint={gop}:scd=0", "b": str(rate)}
    if rung.encoder.endswith("_nvenc"):
        return {"preset": "p4", "bf": "0", "forced-idr": "1", "rc": "vbr", **vbv}
    return vbv


class VideoEncoder:
    """Encode frames for one rung at constant rate: frame ``index`` gets pts ``index`` in a
    ``1/fps`` time base, and frames in ``keyframes`` are forced IDR."""

    def __init__(self, rung: Rung, work_path: Path, keyframes: Container[int], gop: int) -> None:
        self.rung = rung
        self.fps = fps_fraction(rung.fps)
        self.work_path = work_path
        self._keyframes = keyframes
        work_path.parent.mkdir(parents=True, exist_ok=True)
        self._container = av.open(str(work_path), "w", format="mp4", options=WORK_MUX_OPTIONS)
        try:
            stream = self._container.add_stream(rung.encoder, rate=self.fps)
            assert isinstance(stream, VideoStream)
        except (av.error.FFmpegError, ValueError) as exc:
            self._container.close()
            raise EncoderUnavailable() from exc
        stream.width, stream.height, stream.pix_fmt = rung.width, rung.height, "yuv420p"
        stream.bit_rate = rung.video_bitrate
        stream.codec_context.gop_size = gop
        # PyAV defaults encoders to slice threads only, which makes libx264 encode each frame
        # synchronously in slices: the decoding thread then waits on every rung in turn (half
        # the speed on 2 cores). "AUTO" is the ffmpeg CLI's default and gives x264 frame threads.
        stream.codec_context.thread_type = "AUTO"
        options = _encoder_options(rung, gop)
        if rung.threads > 0:
            options["threads"] = str(rung.threads)
        stream.options = dict(options)
        if rung.codec == "hevc":
            stream.codec_tag = "hvc1"
        self._stream = stream
        self._scaler = Scaler(rung.width, rung.height)
        self.frames = 0
        """Frames handed to :meth:`encode` so far."""
        self._encoded = 0
        self._failure: BaseException | None = None
        self._queue: queue.Queue[tuple[int, av.VideoFrame] | None] = queue.Queue(_QUEUE_FRAMES)
        self._thread = threading.Thread(target=self._work, name=f"encode-{rung.name}", daemon=True)
        self._thread.start()

    def encode(self, index: int, frame: av.VideoFrame) -> None:
        """Scale ``frame`` to the rung size and encode it as frame number ``index``.

        The work happens on this encoder's own thread (scaling, x264 and muxing release the
        GIL), so the rungs of a ladder scale and encode in parallel with each other and with
        decoding, as the ffmpeg CLI's per-output threads do. A failure is raised by the next
        call or by :meth:`close`. ``frame`` must not be changed afterwards."""
        self._raise_failure()
        self._queue.put((index, frame))
        self.frames += 1

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._failure is None:
                try:
                    self._encode_now(*item)
                except BaseException as exc:  # handed to the caller's thread
                    self._failure = exc

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def _encode_now(self, index: int, frame: av.VideoFrame) -> None:
        scaled = self._scaler.scale(frame)
        scaled.pts = index
        scaled.time_base = Fraction(1) / self.fps
        scaled.duration = 1
        scaled.pict_type = PictureType.I if index in self._keyframes else PictureType.NONE
        try:
            packets = self._stream.encode(scaled)
        except av.error.FFmpegError as exc:
            if self._encoded == 0:  # the codec opens on the first frame: no GPU, bad options
                raise EncoderUnavailable() from exc
            raise
        self._container.mux(packets)
        self._encoded += 1

    def close(self) -> None:
        """Encode what is queued, flush the encoder and finish the work file."""
        self._stop()
        self._raise_failure()
        self._container.mux(self._stream.encode(None))
        self._container.close()

    def abort(self) -> None:
        """Give up: close the work file without flushing and delete it (after a failure)."""
        self._stop()
        try:
            self._container.close()
        except (av.error.FFmpegError, OSError, ValueError):
            log.debug("closing an aborted work file failed", exc_info=True)
        self.work_path.unlink(missing_ok=True)


def audio_rate_for(source_rate: int) -> int:
    """Keep 44.1 kHz sources at 44.1 kHz; everything else becomes 48 kHz."""
    return 44100 if source_rate == 44100 else 48000


class AudioEncoder:
    """Resample to stereo (downmixing 5.1, duplicating mono) once and encode AAC-LC."""

    def __init__(self, work_path: Path, *, bitrate: int, sample_rate: int) -> None:
        self.work_path = work_path
        self.sample_rate = sample_rate
        work_path.parent.mkdir(parents=True, exist_ok=True)
        self._container = av.open(str(work_path), "w", format="mp4", options=WORK_MUX_OPTIONS)
        stream = self._container.add_stream("aac", rate=sample_rate)
        assert isinstance(stream, AudioStream)
        stream.layout = "stereo"
        stream.bit_rate = bitrate
        self._stream = stream
        self._resampler = av.AudioResampler(format="fltp", layout="stereo", rate=sample_rate, frame_size=1024)
        self.samples = 0
        self.priming = 0
        """Encoder delay in samples (from the first packet's negative timestamp)."""
        self._first_packet = True

    def silence(self, seconds: float) -> None:
        """Start with ``seconds`` of silence (rounded to whole 1024-sample AAC frames), to line
        audio up with video that starts earlier. Only valid before the first :meth:`push`."""
        if self.samples:
            raise RuntimeError("silence() must come before any audio")
        for _ in range(int(round(seconds * self.sample_rate / 1024))):
            frame = av.AudioFrame(format="fltp", layout="stereo", samples=1024)
            for plane in frame.planes:
                plane.update(bytes(plane.buffer_size))
            frame.sample_rate = self.sample_rate
            self._encode(frame)

    def push(self, frame: av.AudioFrame | None) -> None:
        """Encode ``frame`` (any format, layout and rate); ``None`` drains the resampler."""
        for chunk in self._resampler.resample(frame):
            self._encode(chunk)

    def _encode(self, chunk: av.AudioFrame) -> None:
        chunk.pts = self.samples
        chunk.time_base = Fraction(1, self.sample_rate)
        self.samples += chunk.samples
        self._mux(self._stream.encode(chunk))

    def _mux(self, packets: list[av.Packet]) -> None:
        if packets and self._first_packet:
            self._first_packet = False
            first = packets[0]
            if first.pts is not None and first.pts < 0 and first.time_base is not None:
                self.priming = int(round(-first.pts * first.time_base * self.sample_rate))
        self._container.mux(packets)

    def close(self) -> None:
        self.push(None)
        self._mux(self._stream.encode(None))
        self._container.close()

    def abort(self) -> None:
        """Give up: close the work file without flushing and delete it (after a failure)."""
        try:
            self._container.close()
        except (av.error.FFmpegError, OSError, ValueError):
            log.debug("closing an aborted work file failed", exc_info=True)
        self.work_path.unlink(missing_ok=True)
