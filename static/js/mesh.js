// A call of three or four: a small mesh, one RTCPeerConnection (a Call, static/js/call.js) per
// pair of people, each with its own perfect negotiation, ICE restarts, rebuilds and step-down
// to audio and text. Signals between a pair are addressed by participant id (`to`) and come
// back with the sender's (`peer`); the officer-clinician pair keeps its own unaddressed
// signalling on the session page, so a call of two works exactly as before.
//
// Every pair sends from one camera and microphone (the page's LocalMedia): a pair stepping
// down stops sending its video, it never stops the track the other pairs use. Who is in the
// call is read over REST (Redis holds it); `participants.changed` says when to read again.
import { Call } from './call.js';
import { el } from './labels.js';

const KINDS = { video: ['audio', 'video'], audio: ['audio'], text: [] };
const RANK = { text: 0, audio: 1, video: 2 };
const HELD_SIGNALS = 50;  // signals kept from a participant not yet read from the list
const UNKNOWN_READ_MS = 150;  // a signal from someone not listed: read the list this soon
const ROLE_NAMES = { officer: 'Officer', clinician: 'Clinician', consultant: 'Consultant',
                     guest: 'Guest' };

/** One pair's view of the shared camera and microphone: its own mode picks what it sends. */
class PairMedia {
  constructor(shared) {
    this.shared = shared;
    this.mode = 'text';
  }

  get stream() { return this.shared.stream; }

  track(kind) { return KINDS[this.mode].includes(kind) ? this.shared.track(kind) : null; }

  async acquire(mode) {
    const have = this.shared.track('video') ? 'video' : this.shared.track('audio') ? 'audio' : 'text';
    this.mode = RANK[mode] <= RANK[have] ? mode : have;
    return this.mode;
  }

  async flip() { return null; }

  stop() {}  // the page's media: the page stops it
}

export class Mesh {
  /** list: the element (test id `participants`) with one child per person in the call;
   *  media: the page's LocalMedia; ready: a promise settled once it holds its tracks;
   *  transport(message): sends on the live channel; onUnknown(): re-read who is in the call. */
  constructor({ requestId, me, list, media, ready, transport, icePath, mode, onUnknown }) {
    Object.assign(this, { requestId, me, list, media, ready, transport, icePath, mode, onUnknown });
    this.pairs = new Map();  // participant id -> {call, tile}
    this.tiles = new Map();  // participant id -> the list item
    this.held = new Map();  // participant id -> signals that came before they were listed
    this.liveOpen = false;
    this.ended = false;
    this.main = null;  // the id of the person the page's own Call talks to (not in `pairs`)
    this.asking = null;  // a read of who is in the call is due
  }

  /** Who is in the call now; `main`: the person the page's own Call already talks to. */
  update(people, main = null) {
    if (this.ended) return;
    this.main = main;
    const ids = new Set(people.map((p) => p.id));
    for (const [id, pair] of this.pairs) {
      if (!ids.has(id) || id === main) this.drop(id, pair);
    }
    const tiles = people.map((person) => this.tile(person));
    this.list.replaceChildren(...tiles);
    this.list.dataset.count = String(tiles.length);
    for (const person of people) {
      if (person.id !== this.me && person.id !== main && !this.pairs.has(person.id)) {
        this.connect(person);
      }
    }
  }

  /** A signal from another person in the call. */
  signal(peer, data) {
    const pair = this.pairs.get(peer);
    if (pair) {
      pair.call.signal(data);
      return;
    }
    const held = this.held.get(peer) || [];
    if (held.length < HELD_SIGNALS) held.push(data);
    this.held.set(peer, held);
    if (this.asking) return;  // one read for a burst of signals (offer, candidates)
    this.asking = setTimeout(() => {
      this.asking = null;
      this.onUnknown?.();
    }, UNKNOWN_READ_MS);
  }

  /** Show the page's own Call's state on its person's tile. */
  mainState(state) {
    if (this.main && this.tiles.get(this.main)) this.tiles.get(this.main).dataset.state = state;
  }

  liveOpened() {
    this.liveOpen = true;
    for (const { call } of this.pairs.values()) call.liveOpened();
  }

  liveClosed() {
    this.liveOpen = false;
    for (const { call } of this.pairs.values()) call.liveClosed();
  }

  /** The user picked a mode: every pair follows (each may still step down on its own). */
  switchMode(mode) {
    this.mode = mode;
    for (const { call } of this.pairs.values()) call.switchMode(mode);
  }

  /** The page's camera changed (flipped): every pair sends the new track. */
  resync() {
    for (const { call } of this.pairs.values()) {
      call.enqueue(async () => { if (call.pc) await call.syncSenders(); });
    }
  }

  end() {
    this.ended = true;
    for (const [id, pair] of this.pairs) this.drop(id, pair);
  }

  /** The states of the pairs, by participant id (for the page and its tests). */
  states() {
    return Object.fromEntries([...this.tiles].map(([id, tile]) => [id, tile.dataset.state]));
  }

  // ---- internals ------------------------------------------------------------------------

  tile(person) {
    let tile = this.tiles.get(person.id);
    const self = person.id === this.me;
    if (!tile) {
      const video = el('video', { autoplay: '', playsinline: '', 'data-testid': 'participant-video',
                                  'aria-label': `Video of ${person.display_name}` });
      tile = el('li', { class: 'participant', 'data-testid': 'participant' },
        el('span', { class: 'participant-name' }), self ? null : video);
      tile.dataset.participantId = person.id;
      tile.dataset.state = self ? 'self' : 'new';
      this.tiles.set(person.id, tile);
    }
    tile.dataset.role = person.role;
    tile.dataset.self = String(self);
    tile.classList.toggle('main-peer', person.id === this.main);
    const what = person.role === 'guest' && person.guest_role
      ? `${ROLE_NAMES.guest}, ${person.guest_role}` : ROLE_NAMES[person.role] || person.role;
    tile.querySelector('.participant-name').textContent =
      `${person.display_name}${self ? ' (you)' : ''} · ${what}`;
    return tile;
  }

  connect(person) {
    const tile = this.tiles.get(person.id);
    const call = new Call({
      requestId: this.requestId, polite: this.me < person.id, mode: this.mode,
      transport: (message) => this.transport({ ...message, to: person.id }),
      localVideo: document.createElement('video'), remoteVideo: tile.querySelector('video'),
      media: new PairMedia(this.media), icePath: this.icePath,
      hooks: { onState: (state) => { tile.dataset.state = state; },
               onMode: (mode) => { tile.dataset.mode = mode; } },
    });
    this.pairs.set(person.id, { call, tile });
    this.ready.then(async () => {
      if (this.pairs.get(person.id)?.call !== call) return;
      await call.start();
      if (this.liveOpen) call.liveOpened();
      for (const data of this.held.get(person.id) || []) call.signal(data);
      this.held.delete(person.id);
    });
  }

  drop(id, pair) {
    pair.call.end();
    this.pairs.delete(id);
    this.tiles.delete(id);
    this.held.delete(id);
  }
}
