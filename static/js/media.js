// Local camera and microphone for a call: video → audio → text when a device is refused.

const AUDIO = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
const VIDEO = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24, max: 30 },
                facingMode: 'user' };
const KINDS = { video: ['audio', 'video'], audio: ['audio'], text: [] };

function why(error) {
  if (!navigator.mediaDevices) return 'the page is not on a secure (https) connection';
  if (error?.name === 'NotAllowedError') return 'permission was refused';
  if (error?.name === 'NotFoundError') return 'none was found';
  if (error?.name === 'NotReadableError') return 'another app is using it';
  return error?.message || 'it could not be started';
}

/** The local media stream, kept across mode changes so tracks are reused where possible. */
export class LocalMedia {
  constructor(onNotice) {
    this.stream = new MediaStream();
    this.onNotice = onNotice;
    this.facing = 'user';
    this.refused = false;  // the browser refused a device this page asked for (its permission)
  }

  /** Swap the camera between front ('user') and rear ('environment'); returns the new facing. */
  async flip() {
    const old = this.track('video');
    if (!old) return null;
    const facing = this.facing === 'user' ? 'environment' : 'user';
    const got = await navigator.mediaDevices.getUserMedia({
      video: { ...VIDEO, facingMode: { ideal: facing } },
    });
    const [track] = got.getVideoTracks();
    track.enabled = old.enabled;
    this.drop(old);
    this.stream.addTrack(track);
    this.facing = facing;
    return facing;
  }

  track(kind) { return this.stream.getTracks().find((t) => t.kind === kind) || null; }

  /** Get the devices `mode` needs; returns the mode actually obtained (maybe lower). */
  async acquire(mode, asked = mode) {
    if (mode === asked) this.refused = false;
    const wanted = KINDS[mode];
    for (const track of this.stream.getTracks()) {
      if (!wanted.includes(track.kind) || track.readyState !== 'live') this.drop(track);
    }
    const missing = wanted.filter((kind) => !this.track(kind));
    if (!missing.length) return mode;
    try {
      if (!navigator.mediaDevices) throw new Error('insecure context');
      const got = await navigator.mediaDevices.getUserMedia({
        audio: missing.includes('audio') && AUDIO,
        video: missing.includes('video') && { ...VIDEO, facingMode: this.facing },
      });
      for (const track of got.getTracks()) this.stream.addTrack(track);
      return mode;
    } catch (error) {
      if (error?.name === 'NotAllowedError') this.refused = true;
      if (mode === 'video') {
        this.onNotice(`Camera not available (${why(error)}): using audio only.`);
        return this.acquire('audio', asked);
      }
      const what = asked === 'video' ? 'Camera and microphone' : 'Microphone';
      this.onNotice(`${what} not available (${why(error)}): using text chat only.`);
      return this.acquire('text', asked);
    }
  }

  drop(track) {
    track.stop();
    this.stream.removeTrack(track);
  }

  stop() {
    for (const track of this.stream.getTracks()) this.drop(track);
  }
}
