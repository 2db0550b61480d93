// A short tone and a vibration for the officer's phone: the clinician answered, a chat arrived.
// Browsers allow sound and vibration only after the user has touched the page; until then
// (and where a phone has no vibration motor) this does nothing rather than fail.

let audio = null;

/** Call from a tap or key press so that later tones may sound. */
export function primeChime() {
  try {
    audio = audio || new AudioContext();
    if (audio.state === 'suspended') audio.resume();
  } catch { /* no WebAudio */ }
}

for (const kind of ['pointerdown', 'keydown']) document.addEventListener(kind, primeChime);

function tone(frequencies) {
  if (!audio || audio.state !== 'running') return;
  const start = audio.currentTime + 0.02;
  frequencies.forEach((frequency, i) => {
    const at = start + i * 0.18;
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.3, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.15);
    osc.connect(gain).connect(audio.destination);
    osc.start(at);
    osc.stop(at + 0.16);
  });
}

function vibrate(pattern) {
  try { navigator.vibrate?.(pattern); } catch { /* not allowed yet */ }
}

/** The clinician has answered: a rising tone and a long buzz. */
export function answered() {
  tone([523, 659, 784]);
  vibrate([300, 100, 300]);
  document.body.dataset.chimed = 'answered';
}

/** A chat message arrived: one short tone and buzz. */
export function messaged() {
  tone([880]);
  vibrate(150);
  document.body.dataset.chimed = 'message';
}
