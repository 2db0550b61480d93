// A short tone and a vibration for the officer's phone: the clinician answered, a chat arrived.
// Browsers allow sound and vibration only after the user has touched the page; until then
// (and where a phone has no vibration motor) this does nothing rather than fail.
import { playTones, primeAudio } from './tone.js';

// The first tap or key press lets later tones sound.
for (const kind of ['pointerdown', 'keydown']) document.addEventListener(kind, primeAudio);

function vibrate(pattern) {
  try {
    navigator.vibrate?.(pattern);
  } catch (error) {
    console.info('chime: no vibration yet (the page has not been touched)', error);
  }
}

/** The clinician has answered: a rising tone and a long buzz. */
export function answered() {
  playTones([523, 659, 784]);
  vibrate([300, 100, 300]);
  document.body.dataset.chimed = 'answered';
}

/** A chat message arrived: one short tone and buzz. */
export function messaged() {
  playTones([880]);
  vibrate(150);
  document.body.dataset.chimed = 'message';
}
