// A small WHEP player and WHIP publisher for our endpoints (no trickle ICE: the offer goes
// with all its candidates, the answer comes with all of the server's; DELETE on the session's
// Location ends it). ICE servers the server announces in Link headers are used when given.

const GATHER_MS = 3000;

function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      pc.removeEventListener("icegatheringstatechange", check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === "complete") done();
    };
    pc.addEventListener("icegatheringstatechange", check);
    setTimeout(done, GATHER_MS);
  });
}

export interface Session {
  pc: RTCPeerConnection;
  location: string;
  stop(): Promise<void>;
}

async function negotiate(pc: RTCPeerConnection, url: string, headers: Record<string, string>): Promise<Session> {
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/sdp", ...headers },
    body: pc.localDescription?.sdp ?? "",
  });
  if (response.status !== 201) {
    pc.close();
    let detail = response.statusText;
    try {
      detail = ((await response.json()) as { detail?: string }).detail ?? detail;
    } catch {
      /* not JSON */
    }
    throw new Error(detail || `The server answered ${response.status}`);
  }
  const location = new URL(response.headers.get("Location") ?? "", url).href;
  await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
  return {
    pc,
    location,
    async stop() {
      pc.close();
      try {
        await fetch(location, { method: "DELETE", headers });
      } catch {
        /* the server ends an abandoned session by itself */
      }
    },
  };
}

/** Play ``whepUrl`` into ``video``. */
export async function whepPlay(whepUrl: string, video: HTMLVideoElement): Promise<Session> {
  const pc = new RTCPeerConnection();
  const stream = new MediaStream();
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  pc.addEventListener("track", (event) => {
    stream.addTrack(event.track);
    video.srcObject = stream;
  });
  return negotiate(pc, whepUrl, {});
}

/** Publish the camera and microphone ``media`` to ``whipUrl`` with the access token. */
export async function whipPublish(whipUrl: string, media: MediaStream, token: string): Promise<Session> {
  const pc = new RTCPeerConnection();
  for (const track of media.getTracks()) pc.addTransceiver(track, { direction: "sendonly", streams: [media] });
  return negotiate(pc, whipUrl, { Authorization: `Bearer ${token}` });
}
