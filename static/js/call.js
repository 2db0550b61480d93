// The WebRTC call, shared by officer and clinician: browser to browser, signalled over /ws.
//
// Perfect negotiation: the officer is polite, the clinician impolite; `signal` messages carry
// {description} or {candidate}. Pub/sub may drop a signal, so each side says {hello} whenever
// its live channel opens and the other answers by re-sending a pending offer or restarting
// ICE. Every message names the sending peer connection (`from`) and the one it is meant for
// (`to`): a peer that reloaded is noticed, and messages for a closed connection are ignored.
// The call has one mode for both sides (video, audio or text); a lower mode wins when they
// differ, so a refused camera takes the call to audio, a refused microphone to text.
//
// When media stops (an address change, a dead path) the clinician's side restarts ICE. If
// media is still gone a few seconds after the other page has been heard from again, the
// restart did not work: the clinician's side builds a new RTCPeerConnection (the officer's
// side asks it to with {rebuild}), whose hello makes the other page replace its own, and the
// two negotiate afresh over the live channel.
import { uid } from './api.js';
import { IceServers } from './ice.js';
import { LinkWatch } from './link.js';
import { LocalMedia } from './media.js';

const RANK = { text: 0, audio: 1, video: 2 };
const MAX_BACKOFF_MS = 30000;
const LOWER = { video: 'audio', audio: 'text' };
const WEAK_AUDIO_BPS = 8000;  // Opus speech stays intelligible at 8 kbit/s: ~38 kbit/s on the wire
const WATCH_MS = 1000;  // during an outage, how often the page checks whether media is back
const REBUILD_AFTER_MS = 4000;  // no media this long after the other page was heard: new connection
const MAX_REBUILD_AFTER_MS = 30000;
const RESEND_OFFER_MS = 3000;  // an offer unanswered this long is sent again (it or its answer
                               // was lost), then after twice as long, up to MAX_BACKOFF_MS

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
   *  onLinkDown() (media stopped or the network changed: the live channel may be dead too),
   *  onRefused(wanted, got) (the browser refused the camera or microphone `wanted` needs) */
  /** `media`: camera and microphone shared with other connections (a call of more than two,
   *  static/js/mesh.js), else the call's own; `icePath`: where TURN credentials come from. */
  constructor({ requestId, polite, mode, transport, localVideo, remoteVideo, hooks, media = null,
                icePath = undefined }) {
    Object.assign(this, { requestId, polite, mode, transport, hooks });
    this.localVideo = localVideo;
    this.remoteVideo = remoteVideo;
    this.media = media || new LocalMedia((text) => hooks.onNotice?.(text));
    this.remoteStream = new MediaStream();
    this.pc = null;
    this.id = null;
    this.peer = null;
    this.liveOpen = false;
    this.started = false;
    this.ended = false;
    this.backoff = 1000;
    this.outage = null;  // while media is gone: {heardAt} (when the other page last spoke, or null)
    this.rebuildAfter = REBUILD_AFTER_MS;
    this.audioCap = null;
    this.connectedOnce = false;
    this.gone = new Set();  // the other page's connections it has replaced: their messages are stale
    this.chain = Promise.resolve();
    this.ice = new IceServers(icePath);
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
    this.endOutage();
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
      // A connection replacing one that was up: the call is down until it connects.
      if (state === 'connecting' && this.connectedOnce) state = 'disconnected';
    } else if (this.started) state = this.liveOpen ? 'connected' : 'connecting';  // text: the chat link
    this.hooks.onState?.(state);
  }

  /** `reason` 'weak-link': the link could not carry the mode we were in. */
  async applyMode(wanted, announce, reason = null) {
    if (this.ended) return;
    const mode = await this.media.acquire(wanted);
    if (mode !== wanted && this.media.refused) this.hooks.onRefused?.(wanted, mode);
    if (announce || mode !== wanted) this.send({ mode, change: true, ...(reason && { reason }) });
    this.mode = mode;
    if (mode === 'text') this.closePeer();
    else if (this.pc) await this.syncSenders();
    else this.newPeer();
    this.audioCap = reason === 'weak-link' ? WEAK_AUDIO_BPS : null;
    await this.capAudio(this.audioCap);
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
    clearTimeout(this.offerTimer);
    this.retry = null;
    this.pc.close();
    Object.assign(this, { pc: null, id: null, peer: null });
    for (const track of this.remoteStream.getTracks()) this.remoteStream.removeTrack(track);
  }

  /** A new connection in place of the current one, with newly minted TURN credentials; its
   *  hello (when the live channel is open) tells the other page to do the same. */
  async replacePeer() {
    await this.ice.renew();
    if (this.ended || !this.pc) return;
    this.closePeer();
    this.newPeer();
    if (this.outage) this.outage.heardAt = null;  // the new connection gets its own time
    await this.capAudio(this.audioCap);
    this.report();
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
      try { t.setCodecPreferences?.(codecs); } catch (error) { console.debug('call: codecs kept', error); }
    }
  }

  async negotiate(pc) {
    if (pc !== this.pc || !this.canOffer) return;  // the polite side waits for a first offer
    try {
      this.makingOffer = true;
      this.preferCodecs();
      await pc.setLocalDescription();
      this.sendOffer(RESEND_OFFER_MS);
    } catch (error) {
      console.warn('call: offer failed', error);
    } finally {
      this.makingOffer = false;
    }
  }

  /** Send our pending offer, and again after `wait` ms (then twice as long) while it stays
   *  unanswered: pub/sub may have lost it or its answer. */
  sendOffer(wait) {
    const { pc } = this;
    clearTimeout(this.offerTimer);
    this.send({ description: pc.localDescription });
    this.offerTimer = setTimeout(() => this.enqueue(async () => {
      const pending = pc === this.pc && pc.signalingState === 'have-local-offer';
      if (pending) this.sendOffer(Math.min(wait * 2, MAX_BACKOFF_MS));
    }), wait);
  }

  async receive(data) {
    if (!data || typeof data !== 'object' || this.ended || this.gone.has(data.from)) return;
    // For a connection we replaced: only a hello still counts (the other page is there and
    // has not heard of our new connection yet).
    if (data.to && this.id && data.to !== this.id && !data.hello) return;
    this.heard();
    if (RANK[data.mode] !== undefined && data.mode !== this.mode) await this.followMode(data);
    if (!this.pc) {
      if (data.hello && !data.reply) this.send({ hello: true, reply: true, mode: this.mode });
      return;
    }
    if (!(await this.adopt(data))) return;
    if (data.hello) this.hello(data);
    if (data.restart && !this.polite) this.restartIce();
    if (data.rebuild && !this.polite && data.to === this.id) await this.replacePeer();
    if (data.description) await this.describe(data.description);
    if (data.candidate) await this.addCandidate(data.candidate);
  }

  /** Bind to the sender's connection; a new one that says hello or offers replaces the old. */
  async adopt(data) {
    if (!data.from || data.from === this.peer) return true;
    if (this.peer !== null) {
      if (!data.hello && data.description?.type !== 'offer') return false;  // stale
      this.gone.add(this.peer);
      if (this.pc.remoteDescription) await this.replacePeer();  // negotiated with its predecessor
      if (!this.pc) return false;
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
      this.sendOffer(RESEND_OFFER_MS);
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
    if (!offer && pc.currentRemoteDescription?.sdp === description.sdp) return;  // a repeat
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

  // ---- outages: media gone until proven back ------------------------------------------

  /** Media stopped: watch until it flows again, replacing the connection if restarts fail. */
  beginOutage() {
    if (this.outage || !this.pc || this.ended) return;
    this.outage = { heardAt: null };
    this.watchdog = setInterval(() => this.enqueue(() => this.checkOutage()), WATCH_MS);
  }

  endOutage() {
    clearInterval(this.watchdog);
    Object.assign(this, { outage: null, watchdog: null, rebuildAfter: REBUILD_AFTER_MS });
  }

  /** The other page spoke during an outage: the live channel works, so media still missing
   *  from here on is the connection's fault. */
  heard() {
    if (this.outage && this.outage.heardAt === null) this.outage.heardAt = Date.now();
  }

  async checkOutage() {
    const { pc, outage } = this;
    if (!outage) return;
    if (!pc || this.link.hearing(pc)) {
      this.endOutage();
      return;
    }
    if (outage.heardAt === null || Date.now() - outage.heardAt < this.rebuildAfter) return;
    outage.heardAt = null;  // the next try waits for the other page to be heard again
    this.rebuildAfter = Math.min(this.rebuildAfter * 2, MAX_REBUILD_AFTER_MS);
    if (this.polite) this.send({ rebuild: true });
    else await this.replacePeer();
  }

  connectionChanged(pc) {
    if (pc !== this.pc) return;
    this.report();
    const state = pc.connectionState;
    if (state === 'connected') {
      this.connectedOnce = true;
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
    this.beginOutage();
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
    this.beginOutage();
    clearTimeout(this.networkTimer);
    this.networkTimer = setTimeout(() => this.enqueue(async () => this.restartIce()), 1000);
  }
}
