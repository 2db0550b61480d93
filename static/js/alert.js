// Arrival alerts for the console: a WebAudio tone and a browser notification, which also
// reach a clinician whose tab is in the background.

export class Alerter {
  constructor(onChange) {
    this.audio = null;
    this.count = 0;
    this.title = document.title;
    this.onChange = onChange;
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden) document.title = this.title;
    });
  }

  /** Call from a click or key press: browsers only allow sound and permission prompts then. */
  prime() {
    try {
      this.audio = this.audio || new AudioContext();
      if (this.audio.state === 'suspended') this.audio.resume();
    } catch { /* no WebAudio: the notification still works */ }
    if ('Notification' in window && Notification.permission === 'default') {
      Notification.requestPermission().then(() => this.onChange?.());
    }
    this.onChange?.();
  }

  get soundReady() { return this.audio?.state === 'running'; }

  get notificationsAllowed() {
    return 'Notification' in window && Notification.permission === 'granted';
  }

  alert(title, body, tag) {
    this.count += 1;
    this.beep();
    if (this.notificationsAllowed) {
      const note = new Notification(title, { body, tag, renotify: true });
      note.onclick = () => { window.focus(); note.close(); };
    }
    if (document.hidden) document.title = `(${this.count}) ${title} · ${this.title}`;
  }

  beep() {
    const ctx = this.audio;
    if (!ctx) return;
    const start = ctx.currentTime + 0.02;
    [880, 660, 880].forEach((frequency, i) => {
      const at = start + i * 0.25;
      const tone = ctx.createOscillator();
      const gain = ctx.createGain();
      tone.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.35, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.2);
      tone.connect(gain).connect(ctx.destination);
      tone.start(at);
      tone.stop(at + 0.22);
    });
  }
}
