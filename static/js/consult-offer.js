// A colleague asked this clinician to join their call as a consultant: a link to join it.
import { el } from './labels.js';
import { $ } from './dom.js';

/** Show a `consult.offered` message (once per request) with a link to the call. */
export function showConsultOffer({ request_id: requestId, from }) {
  const list = $('consult-list');
  const href = `/session/${encodeURIComponent(requestId)}`;
  if ([...list.querySelectorAll('a')].some((a) => a.getAttribute('href') === href)) return;
  list.append(el('li', {}, el('a', { class: 'button primary', href, 'data-testid': 'consult-join' },
    `Join ${from?.display_name || 'a colleague'}'s call`)));
  $('consult-offers').hidden = false;
}
