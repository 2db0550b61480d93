// STUN/TURN servers for the call, with TURN credentials minted by the service for at most an
// hour. Their username is `expiry:user` (the TURN REST scheme), so the page knows when they
// lapse and mints new ones before ICE gathers again on a long call.
import { api } from './api.js';

const REFRESH_MARGIN_MS = 5 * 60 * 1000;  // credentials with less left than this are renewed
const LOAD_TIMEOUT_MS = 4000;  // just after a network change a request can hang: go on without

function expiry(servers) {
  const times = servers.filter((s) => s.username)
    .map((s) => Number(String(s.username).split(':')[0]) * 1000)
    .filter(Number.isFinite);
  return times.length ? Math.min(...times) : Infinity;
}

export class IceServers {
  constructor(path = '/api/v1/ice-servers') {
    this.path = path;
    this.servers = [];
    this.expiresAt = Infinity;
  }

  /** Read the servers from the service (on failure or after LOAD_TIMEOUT_MS: keep what we
   *  had, or none), so a request that hangs cannot hold up the call. */
  async load() {
    let timer;
    const late = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('no answer')), LOAD_TIMEOUT_MS);
    });
    try {
      this.servers = (await Promise.race([api('GET', this.path), late])).iceServers;
      this.expiresAt = expiry(this.servers);
    } catch (error) {
      console.warn('call: could not read the ICE servers', error);
    } finally {
      clearTimeout(timer);
    }
    return this.servers;
  }

  /** Before an ICE restart: renew credentials near their expiry and give them to `pc`. */
  async freshen(pc) {
    if (this.expiresAt - Date.now() > REFRESH_MARGIN_MS) return;
    await this.load();
    if (pc.signalingState !== 'closed') {
      pc.setConfiguration({ ...pc.getConfiguration(), iceServers: this.servers });
    }
  }

  /** Before a new connection replaces one that could not recover: new credentials, since
   *  the old ones may be what failed (a rotated TURN secret makes them useless long before
   *  they expire). */
  async renew() {
    await this.load();
    return this.servers;
  }
}
