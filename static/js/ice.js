// STUN/TURN servers for the call, with TURN credentials minted by the service for at most an
// hour. Their username is `expiry:user` (the TURN REST scheme), so the page knows when they
// lapse and mints new ones before ICE gathers again on a long call.
import { api } from './api.js';

const REFRESH_MARGIN_MS = 5 * 60 * 1000;  // credentials with less left than this are renewed

function expiry(servers) {
  const times = servers.filter((s) => s.username)
    .map((s) => Number(String(s.username).split(':')[0]) * 1000)
    .filter(Number.isFinite);
  return times.length ? Math.min(...times) : Infinity;
}

export class IceServers {
  constructor() {
    this.servers = [];
    this.expiresAt = Infinity;
  }

  /** Read the servers from the service (on failure: keep what we had, or none). */
  async load() {
    try {
      this.servers = (await api('GET', '/api/v1/ice-servers')).iceServers;
      this.expiresAt = expiry(this.servers);
    } catch (error) {
      console.warn('call: could not read the ICE servers', error);
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
}
