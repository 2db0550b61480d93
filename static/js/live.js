// The /ws live channel: reconnects with exponential backoff. Pub/sub behind it is
// at-most-once, so after every reconnect (or a `resync` from the server) the page re-reads its
// state over REST (onReconnect).
import { api } from './api.js';

// A ping every 3 s; nothing heard for 9 s means a dead connection (e.g. the phone changed
// network), noticed within 10 s.
const PING_MS = 3000;
const SILENCE_MS = 9000;
const MAX_DELAY_MS = 15000;
const PROBE_MS = 1500;  // a probed socket that hears nothing in this long is taken as dead

export class Live {
  /** hooks: onMessage(msg), onReconnect(), onState('connecting'|'open'|'closed'),
   *  onSignedOut() (instead of going to the sign-in page: the page signs in again in place) */
  /** `path`: the socket's; `mePath`: what answers 401 once the page is signed out (a guest
   *  page has its own of both). */
  constructor(hooks = {}, { path = '/ws', mePath = '/api/v1/me' } = {}) {
    this.hooks = hooks;
    this.path = path;
    this.mePath = mePath;
    this.ws = null;
    this.attempts = 0;
    this.everOpened = false;
    this.stopped = false;
    this.timer = null;
    this.lastHeard = Date.now();
    this.pinger = setInterval(() => this.keepAlive(), PING_MS);
    window.addEventListener('online', () => this.reconnectNow());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.reconnectNow();
    });
    this.open();
  }

  get isOpen() { return this.ws?.readyState === WebSocket.OPEN; }

  /** Send a JSON message; false if the socket is not open (the caller must cope). */
  send(message) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  close() {
    this.stopped = true;
    clearInterval(this.pinger);
    clearTimeout(this.timer);
    this.ws?.close(1000);
  }

  open() {
    clearTimeout(this.timer);
    this.timer = null;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${scheme}://${location.host}${this.path}`);
    this.ws = ws;
    this.hooks.onState?.('connecting');
    ws.onopen = () => {
      this.attempts = 0;
      this.lastHeard = Date.now();
      this.hooks.onState?.('open');
      if (this.everOpened) this.hooks.onReconnect?.();
      this.everOpened = true;
    };
    ws.onmessage = (event) => {
      this.lastHeard = Date.now();
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (error) {
        console.warn('live: a message that is not JSON, ignored', error);
        return;
      }
      if (message?.type === 'resync') {
        // The server lost pushes (its store connection dropped): re-read over REST.
        this.hooks.onReconnect?.();
        return;
      }
      if (message?.type && message.type !== 'pong') this.hooks.onMessage?.(message);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.hooks.onState?.('closed');
      if (!this.stopped) this.scheduleReconnect();
    };
  }

  scheduleReconnect() {
    if (this.timer) return;
    const base = Math.min(MAX_DELAY_MS, 500 * 2 ** this.attempts);
    this.attempts += 1;
    if (this.attempts === 3) this.checkSignedIn();
    this.timer = setTimeout(() => this.open(), base * (0.75 + Math.random() * 0.5));
  }

  reconnectNow() {
    if (this.stopped || this.isOpen || this.ws?.readyState === WebSocket.CONNECTING) return;
    this.attempts = 0;
    this.open();
  }

  /** The network may have changed (the call's media stopped): ping now, and reconnect at
   *  once if nothing is heard within 1.5 s instead of waiting for the 9 s silence. */
  probe() {
    if (this.stopped || this.probing) return;
    if (!this.isOpen) {
      this.reconnectNow();
      return;
    }
    const asked = Date.now();
    this.probing = setTimeout(() => {
      this.probing = null;
      if (!this.isOpen || this.lastHeard >= asked) return;
      this.attempts = 0;  // a fresh failure: reconnect at once
      this.drop();
    }, PROBE_MS);
    this.send({ type: 'ping' });
  }

  drop() {
    const dead = this.ws;
    this.ws = null;
    dead.close();
    this.hooks.onState?.('closed');
    this.scheduleReconnect();
  }

  keepAlive() {
    if (!this.isOpen) return;
    if (Date.now() - this.lastHeard > SILENCE_MS) {
      this.drop();  // silently dead (the phone changed network): no waiting for its close
      return;
    }
    this.send({ type: 'ping' });
  }

  async checkSignedIn() {
    try {
      await api('GET', this.mePath);
    } catch (e) {
      if (e.status !== 401) return;
      if (this.hooks.onSignedOut) {
        await this.hooks.onSignedOut();
        this.reconnectNow();
      } else {
        location.href = `/?next=${encodeURIComponent(location.pathname)}`;
      }
    }
  }
}
