// The WebRTC call, shared by officer and clinician: browser to browser, signalled over /ws.
//
// Perfect negotiation: the officer is polite, the clinician impolite; `signal` messages carry
// {description} or {candidate}. Pub/sub may drop a signal, so each side says {hello} whenever
// its live channel opens and the other answers by re-sending a pending offer or restarting
// ICE. Every message names the sending peer connection (`from`) and the one it is meant for
// (`to`): a peer that reloaded is noticed, and messages for a closed connection are ignored.
// The call has one mode for both sides (video, audio or text); a lower mode wins when they
// differ, so a refused camera takes the call to audio, a refused microphone to text.
import { api, uid } from './api.js';
import { LocalMedia } from './media.js';

const RANK = { text: 0, audio: 1, video: 2 };
const MAX_BACKOFF_MS = 30000;

function codecRank(codec) {
  const mime = codec.mimeType.toLowerCase();
  if (mime === 'video/vp8') return 0;
  if (mime === 'video/h264') return /profile-level-id=42e0/i.test(codec.sdpFmtpLine || '') ? 1 : 2;
  if (/rtx|red|ulpfec|flexfec/.test(mime)) return 4;
  return 3;
}

export class Call {
  /** hooks: onState(state), onMode(mode), onNotice(text), onAutoplayBlocked() */
  constructor({ requestId, polite, mode, transport, localVideo, remoteVideo, hooks }) {
    Object.assign(this, { requestId, polite, mode, transport, hooks });
    this.localVideo = localVideo;
    this.remoteVideo = remoteVideo;
    this.media = new LocalMedia((text) => hooks.onNotice?.(text));
    this.remoteStream = new MediaStream();
    this.pc = null;
    this.id = null;
    this.peer = null;
    this.liveOpen = false;
    this.started = false;
    this.ended = false;
    this.backoff = 1000;
    this.chain = Promise.resolve();
    window.addEventListener('online', () => this.networkChanged());
    navigator.connection?.addEventListener?.('change', () => this.networkChanged());
  }

  /** Start in the request's mode: no click needed. */
  start() {
    this.started = true;
    this.report();
    return this.enqueue(async () => {
      this.iceServers = await api('GET', '/api/v1/ice-servers')
        .then((body) => body.iceServers).catch(() => []);
      await this.applyMode(this.mode, false);
    });
  }

  /** A `signal` from the other side. */
  signal(data) { return this.enqueue(() => this.receive(data)); }

  /** The live channel opened (first time or again): say hello and recover lost signals. */
  liveOpened() {
    this.liveOpen = true;
    this.report();
    return this.enqueue(async () => {
      this.send({ hello: true, mode: this.mode });
      this.recover();
    });
  }

  liveClosed() {
    this.liveOpen = false;
    this.report();
  }

  /** The user picked a mode: switch, and take the other side with us. */
  switchMode(mode) { return this.enqueue(() => this.applyMode(mode, true)); }

  /** Mute or unmute the microphone; returns whether it is now muted (null: no microphone). */
  toggleMute() { return this.toggle('audio'); }

  /** Turn the camera off or on; returns whether it is now off (null: no camera). */
  toggleCamera() { return this.toggle('video'); }

  /** Front or rear camera: returns the new facing ('user' or 'environment'), null if none. */
  flipCamera() {
    let facing = null;
    return this.enqueue(async () => {
      facing = await this.media.flip();
      if (facing && this.pc) await this.syncSenders();
      this.localVideo.srcObject = null;
      this.localVideo.srcObject = this.media.stream;
    }).then(() => facing);
  }

  end() {
    this.ended = true;
    this.closePeer();
    this.media.stop();
    this.report();
  }

  playRemote() {
    this.remoteVideo.play().catch((error) => {
      if (error.name === 'NotAllowedError') this.hooks.onAutoplayBlocked?.();
    });
  }

  // ---- internals ------------------------------------------------------------------------

  enqueue(step) {
    this.chain = this.chain.then(step).catch((error) => console.warn('call:', error));
    return this.chain;
  }

  send(data) {
    this.transport({ type: 'signal', request_id: this.requestId,
                     data: { ...data, from: this.id, to: this.peer } });
  }

  toggle(kind) {
    const track = this.media.track(kind);
    if (!track) return null;
    track.enabled = !track.enabled;
    return !track.enabled;
  }

  report() {
    let state = 'new';
    if (this.ended) state = 'disconnected';
    else if (this.started && this.pc) {
      const s = this.pc.connectionState;
      state = s === 'new' ? 'connecting' : s === 'closed' ? 'disconnected' : s;
    } else if (this.started) state = this.liveOpen ? 'connected' : 'connecting';  // text: the chat link
    this.hooks.onState?.(state);
  }

  async applyMode(wanted, announce) {
    if (this.ended) return;
    const mode = await this.media.acquire(wanted);
    if (announce || mode !== wanted) this.send({ mode, change: true });
    this.mode = mode;
    if (mode === 'text') this.closePeer();
    else if (this.pc) await this.syncSenders();
    else this.newPeer();
    this.localVideo.srcObject = mode === 'video' ? this.media.stream : null;
    this.hooks.onMode?.(mode);
    this.report();
  }

  async followMode(data) {
    if (!data.change && RANK[data.mode] >= RANK[this.mode]) return;  // they will come down to us
    await this.applyMode(data.mode, false);
  }

  newPeer() {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers || [] });
    Object.assign(this, { pc, id: uid(), peer: null, makingOffer: false, ignoreOffer: false,
                          canOffer: !this.polite });
    pc.onnegotiationneeded = () => this.negotiate(pc);
    pc.onicecandidate = ({ candidate }) => {
      if (candidate && pc === this.pc) this.send({ candidate: candidate.toJSON() });
    };
    pc.ontrack = ({ track }) => this.addRemoteTrack(track);
    pc.onconnectionstatechange = () => this.connectionChanged(pc);
    for (const track of this.media.stream.getTracks()) pc.addTrack(track, this.media.stream);
    this.preferCodecs();
    if (this.liveOpen) this.send({ hello: true, mode: this.mode });
  }

  closePeer() {
    if (!this.pc) return;
    clearTimeout(this.retry);
    this.retry = null;
    this.pc.close();
    Object.assign(this, { pc: null, id: null, peer: null });
    for (const track of this.remoteStream.getTracks()) this.remoteStream.removeTrack(track);
  }

  async syncSenders() {
    const { stream } = this.media;
    for (const kind of ['audio', 'video']) {
      const track = this.media.track(kind);
      const live = this.pc.getTransceivers().filter((t) => t.currentDirection !== 'stopped');
      const transceiver = live.find((t) => t.sender.track?.kind === kind)
        || live.find((t) => t.receiver.track?.kind === kind);
      if (!transceiver) {
        if (track) this.pc.addTrack(track, stream);
        continue;
      }
      if (transceiver.sender.track !== track) await transceiver.sender.replaceTrack(track);
      if (track) {
        transceiver.sender.setStreams?.(stream);
        if (!transceiver.direction.startsWith('send')) transceiver.direction = 'sendrecv';
      }
    }
    this.preferCodecs();
  }

  preferCodecs() {
    const capabilities = window.RTCRtpReceiver?.getCapabilities?.('video');
    if (!capabilities || !this.pc) return;
    const codecs = [...capabilities.codecs].sort((a, b) => codecRank(a) - codecRank(b));
    for (const t of this.pc.getTransceivers()) {
      if (t.receiver.track?.kind !== 'video' || t.currentDirection === 'stopped') continue;
      try { t.setCodecPreferences?.(codecs); } catch { /* not for this transceiver */ }
    }
  }

  async negotiate(pc) {
    if (pc !== this.pc || !this.canOffer) return;  // the polite side waits for a first offer
    try {
      this.makingOffer = true;
      this.preferCodecs();
      await pc.setLocalDescription();
      this.send({ description: pc.localDescription });
    } catch (error) {
      console.warn('call: offer failed', error);
    } finally {
      this.makingOffer = false;
    }
  }

  async receive(data) {
    if (!data || typeof data !== 'object' || this.ended) return;
    if (data.to && this.id && data.to !== this.id) return;  // for a connection we closed
    if (RANK[data.mode] !== undefined && data.mode !== this.mode) await this.followMode(data);
    if (!this.pc) {
      if (data.hello && !data.reply) this.send({ hello: true, reply: true, mode: this.mode });
      return;
    }
    if (!this.adopt(data)) return;
    if (data.hello) this.hello(data);
    if (data.description) await this.describe(data.description);
    if (data.candidate) await this.addCandidate(data.candidate);
  }

  /** Bind to the sender's connection; a new one that says hello or offers replaces the old. */
  adopt(data) {
    if (!data.from || data.from === this.peer) return true;
    if (this.peer !== null) {
      if (!data.hello && data.description?.type !== 'offer') return false;  // stale
      if (this.pc.remoteDescription) {  // we negotiated with its predecessor: start afresh
        this.closePeer();
        this.newPeer();
      }
    }
    this.peer = data.from;
    return true;
  }

  hello(data) {
    if (!data.reply) this.send({ hello: true, reply: true, mode: this.mode });
    this.recover();
  }

  /** Re-send a pending offer, or restart ICE if the connection is down. */
  recover() {
    const pc = this.pc;
    if (!pc) return;
    if (pc.signalingState === 'have-local-offer' && pc.localDescription) {
      this.send({ description: pc.localDescription });
    } else if (['failed', 'disconnected'].includes(pc.connectionState)) {
      this.restartIce();
    }
  }

  async describe(description) {
    const pc = this.pc;
    const offer = description.type === 'offer';
    if (offer && pc.signalingState === 'stable' && pc.remoteDescription?.sdp === description.sdp) {
      this.send({ description: pc.localDescription });  // a repeat: our answer was lost
      return;
    }
    const collision = offer && (this.makingOffer || pc.signalingState !== 'stable');
    this.ignoreOffer = !this.polite && collision;
    if (this.ignoreOffer) return;
    if (!offer && pc.signalingState !== 'have-local-offer') return;  // a stale answer
    await pc.setRemoteDescription(description);
    this.canOffer = true;
    if (offer) {
      this.preferCodecs();
      await pc.setLocalDescription();
      this.send({ description: pc.localDescription });
    }
  }

  async addCandidate(candidate) {
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (error) {
      if (!this.ignoreOffer && this.pc.remoteDescription) console.debug('call: candidate', error);
    }
  }

  addRemoteTrack(track) {
    for (const old of this.remoteStream.getTracks()) {
      if (old.kind === track.kind) this.remoteStream.removeTrack(old);
    }
    this.remoteStream.addTrack(track);
    if (this.remoteVideo.srcObject !== this.remoteStream) {
      this.remoteVideo.srcObject = this.remoteStream;
    }
    this.playRemote();
  }

  connectionChanged(pc) {
    if (pc !== this.pc) return;
    this.report();
    const state = pc.connectionState;
    if (state === 'connected') {
      this.backoff = 1000;
      clearTimeout(this.retry);
      this.retry = null;
      this.playRemote();
    } else if (state === 'failed') {
      this.scheduleRestart(0);
    } else if (state === 'disconnected') {
      this.scheduleRestart(2500);  // often recovers by itself within a few seconds
    }
  }

  scheduleRestart(delay) {
    if (this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      if (!this.pc || this.pc.connectionState === 'connected') return;
      this.restartIce();
      this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
      this.scheduleRestart(this.backoff);
    }, delay);
  }

  restartIce() {
    if (this.pc?.remoteDescription) this.pc.restartIce();
  }

  networkChanged() {
    clearTimeout(this.networkTimer);
    this.networkTimer = setTimeout(() => this.enqueue(async () => this.restartIce()), 1000);
  }
}
