// The opening's livestream over WebRTC: a viewer asks the server for the host's camera
// (`POST .../webrtc/watch`), the host publishes it (`POST .../webrtc/publish`). One SDP
// offer and answer each, sent once every ICE candidate is gathered (no trickle).

import { api } from "/static/openbid.js";

const GATHER_MS = 3000;

function gathered(pc) {
  return new Promise((done) => {
    if (pc.iceGatheringState === "complete") return done();
    const check = () => { if (pc.iceGatheringState === "complete") done(); };
    pc.addEventListener("icegatheringstatechange", check);
    setTimeout(done, GATHER_MS);
  });
}

async function exchange(pc, path, token) {
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  const { sdp, type } = pc.localDescription;
  const answer = await api(path, { method: "POST", body: { sdp, type }, token });
  if (answer.status !== 200) { pc.close(); return answer.body; }
  await pc.setRemoteDescription(answer.body);
  return null;
}

// Watch into `video`; resolves to null when connected or to the server's error body.
export async function watch(openingId, video) {
  const pc = new RTCPeerConnection();
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  pc.ontrack = (e) => { video.srcObject = e.streams[0] ?? new MediaStream([e.track]); };
  return { pc, error: await exchange(pc, `/api/openings/${openingId}/webrtc/watch`) };
}

// Publish this PC's camera and microphone (VP8 and Opus, what the server forwards).
export async function publish(openingId, token) {
  const media = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  const pc = new RTCPeerConnection();
  for (const track of media.getTracks()) {
    const sender = pc.addTrack(track, media);
    const transceiver = pc.getTransceivers().find((t) => t.sender === sender);
    const wanted = track.kind === "video" ? "video/VP8" : "audio/opus";
    const codecs = RTCRtpSender.getCapabilities(track.kind)?.codecs ?? [];
    const first = codecs.filter((c) => c.mimeType.toLowerCase() === wanted.toLowerCase());
    if (first.length && transceiver?.setCodecPreferences) transceiver.setCodecPreferences(first);
  }
  const error = await exchange(pc, `/api/openings/${openingId}/webrtc/publish`, token);
  if (error) media.getTracks().forEach((track) => track.stop());
  return { pc, media, error };
}
