// The call's link, read from getStats() once a second: can it carry the mode it is in?
//
// Video needs ~100 kbit/s out, under 10 % loss and a few decoded frames a second coming in;
// audio needs under 30 % loss, a round trip under 2 s and its packets arriving. Five weak
// seconds in a row say the mode cannot be sustained; twenty good ones after a step down say
// the link has recovered (the user is then offered the way back up). The first three seconds
// in a new mode are not judged: the link is still clearing the old mode's packets and the
// sender's estimate is still settling, so a squeezed link that can carry audio is not taken
// on down to text for what video left behind.
const SAMPLE_MS = 1000;
const WEAK_SAMPLES = 5;
const GOOD_SAMPLES = 20;
const SETTLE_SAMPLES = 3;
const STALL_SAMPLES = 2;  // seconds with no packet arriving at all: the path is gone
const LIMITS = {
  video: { minKbps: 100, maxLoss: 0.10, maxRttS: 1.0, minFps: 3 },
  audio: { minKbps: 0, maxLoss: 0.30, maxRttS: 2.0, minFps: 0 },
};
const RECOVERED = { minKbps: 250, maxLoss: 0.02, maxRttS: 0.4 };

function delta(now, before, key) {
  return Math.max(0, (now?.[key] ?? 0) - (before?.[key] ?? 0));
}

/** One second of the link: bitrate out, loss and frames in, round trip, the path in use. */
export function readSample(report, before) {
  const sample = { kbps: null, rttS: null, loss: 0, fps: null, audioIn: 0, packetsIn: 0,
                   inbound: {} };
  let pairId = null;
  const byId = new Map();
  report.forEach((stat) => {
    byId.set(stat.id, stat);
    if (stat.type === 'transport' && stat.selectedCandidatePairId) pairId = stat.selectedCandidatePairId;
  });
  const pair = byId.get(pairId)
    || [...byId.values()].find((s) => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded');
  if (pair) {
    if (pair.availableOutgoingBitrate !== undefined) sample.kbps = pair.availableOutgoingBitrate / 1000;
    sample.rttS = pair.currentRoundTripTime ?? null;
    sample.route = { local: byId.get(pair.localCandidateId), remote: byId.get(pair.remoteCandidateId) };
  }
  for (const stat of byId.values()) {
    const fresh = stat.timestamp !== before?.remote?.[stat.kind]?.timestamp;  // not a stale report
    if (stat.type === 'remote-inbound-rtp' && stat.fractionLost !== undefined) {
      if (fresh) sample.loss = Math.max(sample.loss, stat.fractionLost);
      (sample.remote ??= {})[stat.kind] = stat;
    }
    if (stat.type !== 'inbound-rtp') continue;
    sample.inbound[stat.kind] = stat;
    const old = before?.inbound?.[stat.kind];
    const got = delta(stat, old, 'packetsReceived');
    const lost = delta(stat, old, 'packetsLost');
    if (old && got + lost > 0) sample.loss = Math.max(sample.loss, lost / (got + lost));
    sample.packetsIn += old ? got : 1;
    if (stat.kind === 'audio') sample.audioIn = got;
    if (stat.kind === 'video' && old && (stat.framesDecoded ?? 0) > 0) {
      sample.fps = delta(stat, old, 'framesDecoded') / ((stat.timestamp - old.timestamp) / 1000);
    }
  }
  return sample;
}

/** Whether `sample` shows a link that cannot carry `mode` (video or audio). */
export function weakFor(mode, sample) {
  const limit = LIMITS[mode];
  if (!limit) return false;
  if (sample.kbps !== null && sample.kbps < limit.minKbps) return true;
  if (sample.loss > limit.maxLoss) return true;
  if (sample.rttS !== null && sample.rttS > limit.maxRttS) return true;
  // Few frames alone may be the other side's camera turned off: only with a strained link.
  const strained = sample.loss > 0.02 || (sample.kbps !== null && sample.kbps < 2 * limit.minKbps);
  if (mode === 'video') return sample.fps !== null && sample.fps < limit.minFps && strained;
  return sample.inbound.audio !== undefined && sample.audioIn === 0;
}

function recovered(sample) {
  if (sample.kbps !== null && sample.kbps < RECOVERED.minKbps) return false;
  return sample.loss <= RECOVERED.maxLoss && (sample.rttS ?? 0) <= RECOVERED.maxRttS
    && sample.audioIn > 0;
}

export class LinkWatch {
  /** hooks: weak(mode) when `mode` cannot be sustained, recovered() once the link is good
   *  again after a step down, stalled() when nothing has arrived for 2 s, sample(sample)
   *  every second; `stalled` says whether nothing arrives now, `hearing()` whether packets
   *  arrived on the connected path within the last two samples */
  constructor(hooks) {
    this.hooks = hooks;
    this.pc = null;
    this.timer = null;
    this.stepDown = false;
  }

  /** Watch `pc` while the call is in `mode`; a new mode starts the counts afresh. */
  watch(pc, mode) {
    if (pc !== this.pc || mode !== this.mode) {
      Object.assign(this, { weak: 0, good: 0, idle: 0, stalled: false, last: null,
                            settle: SETTLE_SAMPLES });
    }
    if (pc !== this.pc) this.heardAt = 0;
    Object.assign(this, { pc, mode });
    if (!this.timer) this.timer = setInterval(() => this.tick(), SAMPLE_MS);
  }

  /** The call went down a step because of the link: watch for it to recover. */
  steppedDown() { this.stepDown = true; }

  /** The user chose a mode: no more offer to go back up until the next step down. */
  chosen() { this.stepDown = false; }

  /** Whether media is arriving on `pc` now (it is connected and packets came in lately). */
  hearing(pc) {
    return pc === this.pc && pc.connectionState === 'connected'
      && Date.now() - this.heardAt <= 2 * SAMPLE_MS + 500;
  }

  stop() {
    clearInterval(this.timer);
    Object.assign(this, { timer: null, pc: null });
  }

  async tick() {
    const pc = this.pc;
    if (!pc || pc.connectionState !== 'connected') {
      this.weak = 0;
      if (pc?.connectionState !== 'disconnected') this.stalled = false;
      return;
    }
    let report;
    try {
      report = await pc.getStats();
    } catch (error) {
      console.debug('link: no statistics this second', error);
      return;
    }
    if (pc !== this.pc) return;
    const sample = readSample(report, this.last);
    const first = this.last === null;
    this.last = sample;
    this.hooks.sample?.(sample);
    if (first) return;
    this.idle = sample.packetsIn === 0 ? this.idle + 1 : 0;
    if (sample.packetsIn > 0) this.heardAt = Date.now();
    const stalled = this.idle >= STALL_SAMPLES;
    if (stalled && !this.stalled) this.hooks.stalled?.();
    this.stalled = stalled;
    if (stalled) return;
    if (this.settle > 0) {
      this.settle -= 1;
      return;
    }
    this.weak = weakFor(this.mode, sample) ? this.weak + 1 : 0;
    this.good = this.stepDown && recovered(sample) ? this.good + 1 : 0;
    if (this.weak >= WEAK_SAMPLES) {
      this.weak = 0;
      this.hooks.weak?.(this.mode);
    } else if (this.good >= GOOD_SAMPLES) {
      this.stepDown = false;
      this.hooks.recovered?.();
    }
  }
}
