// The opening's livestream over WebRTC: a viewer asks the server for the host's camera
// (`POST .../webrtc/watch`), the host publishes it (`POST .../webrtc/publish`). One SDP
// offer and answer each, sent once every ICE candidate is gathered (no trickle). The
// `LivePlayer` plays it, or its HLS twin, on the opening's page.

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

// The video is asked for only while the host is live (the snapshot's `live`; while waiting,
// the cacheable `/live/openings/{id}/status` every STATUS_MS), so a visit before the host
// starts makes no request that fails. WebRTC first (a second's delay); when the server
// refuses it (too many viewers on this process) or it drops, HLS from the same stream
// (hls.js where the browser has Media Source, else the browser's own HLS).
const STATUS_MS = 5000;

export class LivePlayer {
  constructor(openingId, video, statusLine, retryButton, waitingText) {
    Object.assign(this, { openingId, video, statusLine, retryButton, waitingText });
    this.viewer = null;
    this.hls = null;
    this.waiting = null;
  }

  // What the opening's snapshot says: the host is live, or not.
  live(on) {
    if (this.viewer || this.hls) return;
    if (on) this.play(); else this.wait();
  }

  async retry() {
    const status = await this.status();
    if (status.live) this.play(status.hls); else this.wait();
  }

  wait() {
    this.statusLine.textContent = this.waitingText;
    clearTimeout(this.waiting);
    this.waiting = setTimeout(() => this.retry(), STATUS_MS);
  }

  async status() {
    try {
      const words = (await (await fetch(`/live/openings/${this.openingId}/status`)).text()).split(" ");
      return { live: words[0] === "live", hls: words.includes("hls") };
    } catch {
      return { live: false, hls: false };
    }
  }

  async play(hlsReady = false) {
    clearTimeout(this.waiting);
    if (this.viewer || this.hls) return;
    const made = await watch(this.openingId, this.video);
    if (made.error) {
      if (hlsReady || (await this.status()).hls) return this.playHls();
      return this.wait();
    }
    this.viewer = made;
    this.statusLine.textContent = "";
    this.retryButton.hidden = true;
    // The server closing (the host stopped) shows as "disconnected" within seconds; a
    // network blip does too, and costs a new watch when the host is still live.
    made.pc.onconnectionstatechange = () => {
      if (!["disconnected", "failed", "closed"].includes(made.pc.connectionState)) return;
      made.pc.onconnectionstatechange = null;
      made.pc.close();
      this.retryButton.hidden = false;
      this.viewer = null;
      this.wait();
    };
  }

  async playHls() {
    const url = `/live/openings/${this.openingId}/index.m3u8`;
    const ended = () => { this.hls?.destroy(); this.hls = null; this.wait(); };
    this.statusLine.textContent = "";
    this.video.srcObject = null;  // a dropped WebRTC stream's, which would take precedence
    if (!(window.MediaSource || window.ManagedMediaSource)) {  // iOS Safari: HLS is native
      this.hls = { destroy: () => this.video.removeAttribute("src") };
      this.video.src = url;
    } else {
      const { default: Hls } = await import("/static/vendor/hls.light.min.mjs");
      // no worker: it would need `worker-src blob:`, and fMP4 needs no transmuxing anyway
      const hls = new Hls({ enableWorker: false, liveSyncDurationCount: 2 });
      hls.on(Hls.Events.ERROR, (_, data) => { if (data.fatal) ended(); });
      hls.loadSource(url);
      hls.attachMedia(this.video);
      this.hls = hls;
    }
    this.video.onended = ended;
    this.video.play().catch(() => {});  // autoplay muted; a refusal leaves the controls
  }
}
