// Arrival alerts for the console: a WebAudio tone and a browser notification, which also
// reach a clinician whose tab is in the background.
import { audioReady, playTones, primeAudio } from './tone.js';

export class Alerter {
  constructor(onChange) {
    this.count = 0;
    this.title = document.title;
    this.onChange = onChange;
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden) document.title = this.title;
    });
  }

  /** Call from a click or key press: browsers only allow sound and permission prompts then. */
  prime() {
    primeAudio();  // without WebAudio the notification still works
    if ('Notification' in window && Notification.permission === 'default') {
      Notification.requestPermission().then(() => this.onChange?.());
    }
    this.onChange?.();
  }

  get soundReady() { return audioReady(); }

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
    playTones([880, 660, 880], { step: 0.25, length: 0.2, volume: 0.35 });
  }
}
