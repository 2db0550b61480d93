// The WebRTC call, shared by officer and clinician: browser to browser, signalled over /ws.
//
// Perfect negotiation: the officer is polite, the clinician impolite; `signal` messages carry
// {description} or {candidate}. Pub/sub may drop a signal, so each side says {hello} whenever
// its live channel opens and the other answers by re-sending a pending offer or restarting
// ICE. Every message names the sending peer connection (`from`) and the one it is meant for
// (`to`): a peer that reloaded is noticed, and messages for a closed connection are ignored.
// The call has one mode for both sides (video, audio or text); a lower mode wins when they
// differ, so a refused camera takes the call to audio, a refused microphone to text.
import { uid } from './api.js';
import { IceServers } from './ice.js';
import { LinkWatch } from './link.js';
import { LocalMedia } from './media.js';

const RANK = { text: 0, audio: 1, video: 2 };
const MAX_BACKOFF_MS = 30000;
const LOWER = { video: 'audio', audio: 'text' };
const WEAK_AUDIO_BPS = 8000;  // Opus speech stays intelligible at 8 kbit/s: ~38 kbit/s on the wire

function codecRank(codec) {
  const mime = codec.mimeType.toLowerCase();
  if (mime === 'video/vp8') return 0;
  if (mime === 'video/h264') return /profile-level-id=42e0/i.test(codec.sdpFmtpLine || '') ? 1 : 2;
  if (/rtx|red|ulpfec|flexfec/.test(mime)) return 4;
  return 3;
}

export class Call {
  /** hooks: onState(state), onMode(mode, reason), onNotice(text), onAutoplayBlocked(),
   *  onRecovered() (the link can carry video again), onSample(sample) (link stats each second),
   *  onLinkDown() (media stopped or the network changed: the live channel may be dead too) */
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
    this.ice = new IceServers();
    this.link = new LinkWatch({ weak: (mode) => this.linkWeak(mode),
                                recovered: () => hooks.onRecovered?.(),
                                stalled: () => this.linkStalled(),
                                sample: (sample) => hooks.onSample?.(sample) });
    window.addEventListener('online', () => this.networkChanged());
    navigator.connection?.addEventListener?.('change', () => this.networkChanged());
  }

  /** Start in the request's mode: no click needed. */
  start() {
    this.started = true;
    this.report();
    return this.enqueue(async () => {
      await this.ice.load();
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
  switchMode(mode) {
    this.link.chosen();
    return this.enqueue(() => this.applyMode(mode, true));
  }

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
    this.link.stop();
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

  /** `reason` 'weak-link': the link could not carry the mode we were in. */
  async applyMode(wanted, announce, reason = null) {
    if (this.ended) return;
    const mode = await this.media.acquire(wanted);
    if (announce || mode !== wanted) this.send({ mode, change: true, ...(reason && { reason }) });
    this.mode = mode;
    if (mode === 'text') this.closePeer();
    else if (this.pc) await this.syncSenders();
    else this.newPeer();
    await this.capAudio(reason === 'weak-link' ? WEAK_AUDIO_BPS : null);
    if (this.pc) this.link.watch(this.pc, mode);
    else this.link.stop();
    this.localVideo.srcObject = mode === 'video' ? this.media.stream : null;
    this.hooks.onMode?.(mode, reason);
    this.report();
  }

  async followMode(data) {
    if (!data.change && RANK[data.mode] >= RANK[this.mode]) return;  // they will come down to us
    const reason = data.reason === 'weak-link' ? data.reason : null;
    if (reason) this.link.steppedDown();
    await this.applyMode(data.mode, false, reason);
  }

  /** The link cannot carry `mode`: take both sides one step down and say why. */
  linkWeak(mode) {
    this.enqueue(async () => {
      if (mode !== this.mode || !LOWER[mode]) return;
      this.link.steppedDown();
      await this.applyMode(LOWER[mode], true, 'weak-link');
    });
  }

  newPeer() {
    const pc = new RTCPeerConnection({ iceServers: this.ice.servers });
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
    this.link.watch(pc, this.mode);
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

  /** Limit the microphone's bitrate (null: the browser's own choice). */
  async capAudio(bps) {
    const sender = this.pc?.getSenders().find((s) => s.track?.kind === 'audio');
    if (!sender) return;
    const parameters = sender.getParameters();
    if (!parameters.encodings?.length) return;
    for (const encoding of parameters.encodings) {
      if (bps) encoding.maxBitrate = bps;
      else delete encoding.maxBitrate;
    }
    try { await sender.setParameters(parameters); } catch (error) { console.debug('call: cap', error); }
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
    if (data.restart && !this.polite) this.restartIce();
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
    } else if (['failed', 'disconnected'].includes(pc.connectionState) || this.link.stalled) {
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

  /** Show `track`; a track replacing one of its kind gets a new stream, since a video element
   *  keeps rendering the removed track of a stream it already plays. */
  addRemoteTrack(track) {
    const tracks = this.remoteStream.getTracks();
    if (tracks.includes(track)) return;
    if (tracks.some((old) => old.kind === track.kind)) {
      this.remoteStream = new MediaStream(tracks.filter((old) => old.kind !== track.kind));
    }
    this.remoteStream.addTrack(track);
    if (this.remoteVideo.srcObject !== this.remoteStream) {
      this.remoteVideo.srcObject = this.remoteStream;
    }
    this.playRemote();
  }

  /** Nothing arrives any more although ICE still says connected (an address changed): check
   *  the live channel and restart ICE now rather than after the consent timeout. */
  linkStalled() {
    this.hooks.onLinkDown?.();
    this.scheduleRestart(0);
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
      this.hooks.onLinkDown?.();
      this.scheduleRestart(0);
    } else if (state === 'disconnected') {
      this.hooks.onLinkDown?.();
      this.scheduleRestart(2500);  // often recovers by itself within a few seconds
    }
  }

  scheduleRestart(delay) {
    if (this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      if (!this.pc || (this.pc.connectionState === 'connected' && !this.link.stalled)) return;
      this.restartIce();
      this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
      this.scheduleRestart(this.backoff);
    }, delay);
  }

  /** The impolite side restarts ICE; the polite one asks it to, since a restart offer from
   *  each side at once (both saw the link stall) ends in a rollback after which Chrome may
   *  stop rendering the remote video. */
  async restartIce() {
    if (!this.pc?.remoteDescription) return;
    const { pc } = this;
    await this.ice.freshen(pc);  // each side gathers anew, with its own TURN credentials
    if (pc !== this.pc) return;
    if (this.polite) this.send({ restart: true });
    else pc.restartIce();
  }

  networkChanged() {
    this.hooks.onLinkDown?.();
    clearTimeout(this.networkTimer);
    this.networkTimer = setTimeout(() => this.enqueue(async () => this.restartIce()), 1000);
  }
}
