"""The live media node: the RTMP ingest on a thread of its own, the WebRTC node (WHEP relays and
WHIP publishers), and the LL-HLS sinks writing into blob storage.

It is handed the live domain's services (``control_plane.live``): streams and keys, leases,
recordings. Wiring in a process that has ``Services``::

    ingest = build_ingest(services)
    rtmp = RtmpThread(settings.host, settings.rtmp_port, ingest).start()
    app = create_app(services, whip=WhipIngest(services))
    ...
    rtmp.stop()
"""

from workers.live.authorizer import LIVE_APP, DatabaseAuthorizer
from workers.live.recovery import recover_recording
from workers.live.runner import Ingest, RtmpThread, build_ingest
from workers.live.sinks import StoreLiveSinks
from workers.live.webrtc import WebRtcNode, WhipSession
from workers.live.whip import WhipIngest

__all__ = [
    "LIVE_APP",
    "DatabaseAuthorizer",
    "Ingest",
    "RtmpThread",
    "build_ingest",
    "StoreLiveSinks",
    "WebRtcNode",
    "WhipSession",
    "WhipIngest",
    "recover_recording",
]
