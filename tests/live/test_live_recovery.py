"""``seal_recording``: what a dead ingest's FLV recorder left (no duration, a torn last tag) is cut
after its last whole tag, given its duration, and then demuxes and decodes like any FLV."""

from __future__ import annotations

from pathlib import Path

import av

from pipelines.frames import AudioFrame, VideoFrame
from pipelines.live import FlvRecorder, seal_recording


def test_a_torn_recording_is_sealed_and_decodes(tmp_path: Path) -> None:
    source = tmp_path / "source.mp4"
    with av.open(str(source), "w") as output:  # 2 s of 25 fps H.264, a keyframe a second
        stream = output.add_stream("libx264", rate=25, options={"g": "25", "bf": "0"})
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(50):
            frame = av.VideoFrame(64, 48, "yuv420p")
            frame.pts = i
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    path = tmp_path / "1.flv"
    recorder = FlvRecorder(path)
    recorder.set_metadata({"width": 64.0, "height": 48.0, "framerate": 25.0})
    with av.open(str(source)) as demuxed:
        video = demuxed.streams.video[0]
        recorder.write_video(
            VideoFrame(0, 0, True, "h264", bytes(video.codec_context.extradata or b""), True)
        )
        recorder.write_audio(AudioFrame(0, "aac", b"\x12\x10", True))
        for packet in demuxed.demux(video):
            if packet.size and packet.pts is not None:
                ms = int(packet.pts * packet.time_base * 1000)
                recorder.write_video(VideoFrame(ms, 0, packet.is_keyframe, "h264", bytes(packet), False))
    assert recorder._file is not None
    recorder._file.close()  # the ingest dies here: the duration is never patched in
    recorder._file = None
    whole = path.stat().st_size
    with path.open("r+b") as file:
        file.truncate(whole - 7)  # the last tag torn

    assert seal_recording(path) == 1.92  # the last whole tag is the 49th frame, at 1.92 s
    assert path.stat().st_size < whole - 7
    with av.open(str(path)) as sealed:
        assert sealed.duration is not None and abs(sealed.duration / av.time_base - 1.92) < 0.05
        pictures = list(sealed.decode(sealed.streams.video[0]))
    assert len(pictures) == 49 and (pictures[0].width, pictures[0].height) == (64, 48)


def test_sealing_what_is_not_a_recording_gives_nothing(tmp_path: Path) -> None:
    junk = tmp_path / "junk.flv"
    junk.write_bytes(b"not an flv at all")
    assert seal_recording(junk) == 0.0 and junk.read_bytes() == b"not an flv at all"
