// The dashboard's two named live regions: a polite one for changes (a new request, alarms
// acknowledged) and an assertive one for a new critical alarm. Clocks and figures that tick
// are never announced; only these short messages are, each added as a line of its own (so
// two at once are both read), the oldest dropped after a few.
import { $ } from './dom.js';

const KEPT = 4;

/** Say `text` once to screen readers; `urgent` interrupts (a new critical alarm). */
export function announce(text, { urgent = false } = {}) {
  const region = $(urgent ? 'sup-announce-urgent' : 'sup-announce');
  if (!region) return;
  const line = document.createElement('p');
  line.textContent = text;
  region.append(line);
  while (region.childElementCount > KEPT) region.firstElementChild.remove();
}
