// "Test my camera and connection": a short call with the server's echo peer
// (POST /api/v1/connection-test). Shows the echoed video, round-trip time, packet loss and
// received bitrate from getStats(), and recommends video, audio or text.
import { api } from './api.js';

const TEST_SECONDS = 8;

async function iceServers() {
  try {
    return (await api('GET', '/api/v1/ice-servers')).iceServers;
  } catch (error) {
    console.warn('conncheck: no ICE servers, host candidates only', error);
    return [];
  }
}

async function openMedia() {
  try {
    return await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  } catch (error) {
    console.info('conncheck: no camera, trying the microphone alone', error);
  }
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (error) {
    console.info('conncheck: no microphone either', error);
    return null;
  }
}

function gathered(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { if (pc.iceGatheringState === 'complete') resolve(); };
    pc.addEventListener('icegatheringstatechange', done);
    setTimeout(resolve, 3000);  // answer with what we have
  });
}

async function measure(pc) {
  const report = await pc.getStats();
  const out = { rttMs: null, lost: 0, received: 0, bytes: 0, video: false };
  report.forEach((s) => {
    if (s.type === 'candidate-pair' && s.nominated && s.currentRoundTripTime !== undefined) {
      out.rttMs = s.currentRoundTripTime * 1000;
    }
    if (s.type === 'inbound-rtp') {
      out.lost += s.packetsLost || 0;
      out.received += s.packetsReceived || 0;
      out.bytes += s.bytesReceived || 0;
      if (s.kind === 'video' && s.framesDecoded > 0) out.video = true;
    }
  });
  return out;
}

export function recommend({ rttMs, lossPct, kbps, video, hasCamera, hasMic }) {
  if (!hasMic) return 'text';
  if (hasCamera && video && kbps >= 150 && lossPct < 5 && (rttMs ?? 0) < 400) return 'video';
  if (lossPct < 15 && (rttMs ?? 0) < 800) return 'audio';
  return 'text';
}

function show(panel, text) {
  panel.querySelector('[data-testid="conncheck-result"]').textContent = text;
}

const PLAIN = {
  video: 'Your connection is good enough for video.',
  audio: 'Your connection is good enough for audio only.',
  text: 'Your connection is good enough for text chat only.',
};

/** The verdict in plain words, the measurements folded away beneath it. */
function showVerdict(panel, mode, numbers) {
  const details = document.createElement('details');
  const summary = document.createElement('summary');
  summary.textContent = 'The numbers';
  details.append(summary, numbers);
  const plain = document.createElement('strong');
  plain.dataset.testid = 'conncheck-plain';
  plain.textContent = PLAIN[mode];
  panel.querySelector('[data-testid="conncheck-result"]').replaceChildren(plain, details);
}

export async function runConnectionTest(panel) {
  const video = panel.querySelector('video');
  show(panel, 'Starting the test…');
  const stream = await openMedia();
  const hasCamera = Boolean(stream?.getVideoTracks().length);
  const hasMic = Boolean(stream?.getAudioTracks().length);
  const pc = new RTCPeerConnection({ iceServers: await iceServers() });
  const pings = [];
  try {
    stream?.getTracks().forEach((t) => pc.addTrack(t, stream));
    if (!stream) pc.addTransceiver('audio', { direction: 'recvonly' });
    const channel = pc.createDataChannel('ping');
    channel.onmessage = (e) => {
      const sent = Number(String(e.data).split(':')[1]);
      if (sent) pings.push(performance.now() - sent);
    };
    pc.ontrack = (e) => { if (e.track.kind === 'video') video.srcObject = e.streams[0] || new MediaStream([e.track]); };
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const answer = await api('POST', '/api/v1/connection-test', { sdp: pc.localDescription.sdp, type: 'offer' });
    await pc.setRemoteDescription(answer);
    const first = await measure(pc);
    for (let s = 1; s <= TEST_SECONDS; s += 1) {
      await new Promise((r) => setTimeout(r, 1000));
      if (channel.readyState === 'open') channel.send(`ping:${performance.now()}`);
      show(panel, `Testing… ${TEST_SECONDS - s} s`);
    }
    const last = await measure(pc);
    const packets = last.received - first.received + last.lost - first.lost;
    const lossPct = packets > 0 ? (100 * (last.lost - first.lost)) / packets : 0;
    const kbps = ((last.bytes - first.bytes) * 8) / 1000 / TEST_SECONDS;
    const sorted = pings.slice().sort((a, b) => a - b);
    const rttMs = sorted.length ? sorted[Math.floor(sorted.length / 2)] : last.rttMs;
    const mode = recommend({ rttMs, lossPct, kbps, video: last.video, hasCamera, hasMic });
    const result = { rttMs, lossPct, kbps, mode, hasCamera, hasMic };
    showVerdict(panel, mode, `Round trip ${rttMs === null ? '?' : Math.round(rttMs)} ms · loss `
      + `${lossPct.toFixed(1)} % · received ${Math.round(kbps)} kbit/s · camera `
      + `${hasCamera ? 'ok' : 'not available'} · microphone ${hasMic ? 'ok' : 'not available'}. `
      + `Recommended: ${mode}.`);
    panel.dataset.mode = mode;
    return result;
  } catch (e) {
    show(panel, `The test could not run: ${e.message}. Text chat will still work.`);
    panel.dataset.mode = 'text';
    return { mode: 'text', error: e.message };
  } finally {
    pc.close();
    stream?.getTracks().forEach((t) => t.stop());
    video.srcObject = null;
  }
}

// Wire every panel on the page: <section data-conncheck> with a button, a video and a result.
document.querySelectorAll('[data-conncheck]').forEach((panel) => {
  const button = panel.querySelector('button');
  button.addEventListener('click', async () => {
    button.disabled = true;
    try { await runConnectionTest(panel); } finally { button.disabled = false; }
  });
});
