// Tones through WebAudio, shared by the officer's chime and the console's arrival alert.
// Browsers let a page make sound only after the user has touched it: `primeAudio()` from a
// tap or key press first; until then `playTones` plays nothing.

let audio = null;

/** Create (or wake) the page's audio; call from a tap or key press. */
export function primeAudio() {
  try {
    audio = audio || new AudioContext();
    if (audio.state === 'suspended') audio.resume();
  } catch (error) {
    console.info('tone: no WebAudio here, so no sound', error);
  }
}

/** Whether a tone would sound now. */
export const audioReady = () => audio?.state === 'running';

/** Short tones of these frequencies (Hz), one after another `step` seconds apart. */
export function playTones(frequencies, { step = 0.18, length = 0.15, volume = 0.3 } = {}) {
  if (!audioReady()) return;
  const start = audio.currentTime + 0.02;
  frequencies.forEach((frequency, i) => {
    const at = start + i * step;
    const oscillator = audio.createOscillator();
    const gain = audio.createGain();
    oscillator.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(volume, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + length);
    oscillator.connect(gain).connect(audio.destination);
    oscillator.start(at);
    oscillator.stop(at + length + 0.02);
  });
}
