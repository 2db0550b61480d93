// The clinician's side of the session page: the request details, the outcome form, release.
import { api } from './api.js';
import { loadDirectory } from './areas.js';
import { AGE_BANDS, CONCERNS, CSSRS, MODES, SEXES, URGENCIES, el, label, when } from './labels.js';
import { setupHistory } from './history.js';
import { setupOutcomeForm } from './outcome-form.js';
import { $ } from './dom.js';

const CONSENT = {
  given: 'Given',
  lacks_capacity: 'Lacks capacity to consent: assessed in their interest',
  declined: 'Declined: the officer consults alone',
};

function screening(cssrs) {
  const answered = Object.entries(cssrs || {}).filter(([, answer]) => answer !== null);
  if (!answered.length) return 'Not asked';
  return el('ul', { class: 'cssrs-answers' }, ...answered.map(([q, yes]) => el(
    'li', { class: yes ? 'yes' : 'no' }, `${q.replace('_', ' ')} ${label(CSSRS, q)}: `,
    el('strong', {}, yes ? 'Yes' : 'No'))));
}

let directory = { area: (id) => id || '', board: (id) => id || '' };  // names once read
let shown = null;
loadDirectory().then((names) => {
  directory = names;
  if (shown) renderDetails(shown);
});

/** Fill the details list beside the call. */
export function renderDetails(r) {
  shown = r;
  const place = r.location || {};
  const person = r.subject || {};
  const rows = [
    ['Priority', `P${r.priority} · ${label(URGENCIES, r.urgency)} · asked for ${label(MODES, r.mode)}`],
    ['Incident', r.incident_ref],
    ['Officer', [r.officer?.display_name, r.officer?.phone && `call-back ${r.officer.phone}`]
      .filter(Boolean).join(' · ')],
    ['Consent', r.consent && [CONSENT[r.consent] || r.consent, r.capacity_note]
      .filter(Boolean).join(': ')],
    ['Asked', r.created_at && when(r.created_at)],
    ['Location', place.description],
    ['Area', [directory.area(place.area_id), place.area].filter(Boolean)
      .filter((name, i, names) => names.indexOf(name) === i).join(' · ')],
    ['Health board', directory.board(r.board)],
    ['Coordinates', place.lat != null ? `${place.lat}, ${place.lon}` : null],
    ['Person', [person.known_name, label(AGE_BANDS, person.age_band), label(SEXES, person.sex)]
      .filter(Boolean).join(' · ')],
    ['CHI number', person.chi],
    ['Date of birth', person.date_of_birth],
    ['Concerns', (r.concerns || []).map((c) => label(CONCERNS, c)).join(', ') || 'None ticked'],
    ['C-SSRS', screening(r.screening?.cssrs)],
    ['Notes', r.notes],
  ];
  $('request-details').replaceChildren(...rows.filter(([, value]) => value).flatMap(
    ([term, value]) => [el('dt', {}, term), el('dd', {}, value)]));
}

/** The side panel's tabs: each scrolls its section to the top of the panel. */
function setupTabs() {
  const body = $('side-body');
  const tabs = [...document.querySelectorAll('.side-tabs [data-panel]')];
  let unread = 0;
  const showUnread = () => {
    $('chat-unread').textContent = String(unread);
    $('chat-unread').hidden = unread === 0;
  };
  const choose = (tab) => {
    for (const other of tabs) other.setAttribute('aria-current', String(other === tab));
    if (tab.dataset.panel === 'chat-card') {
      unread = 0;
      showUnread();
    }
  };
  for (const tab of tabs) {
    tab.addEventListener('click', () => {
      const section = $(tab.dataset.panel);
      body.scrollTo({ top: section.offsetTop, behavior: 'instant' });
      choose(tab);
      section.querySelector('input, select, textarea')?.focus({ preventScroll: true });
    });
  }
  return {
    unread() {
      if (tabs.find((tab) => tab.dataset.panel === 'chat-card').getAttribute('aria-current') === 'true') return;
      unread += 1;
      showUnread();
    },
  };
}

/** Wire the tabs, outcome form and release button; `say(text)` reports a problem. */
export function setupClinician({ requestId, onFiled, say }) {
  setupOutcomeForm({ form: $('outcome-form'), requestId, onFiled });
  setupHistory(requestId);
  $('release').addEventListener('click', async () => {
    try {
      await api('POST', `/api/v1/requests/${requestId}/release`,
                { reason: $('release-reason').value.trim() });
      location.href = '/console';
    } catch (error) {
      say(error.status === 409 ? 'This session is no longer yours.'
                               : `Could not release: ${error.message}`);
    }
  });
  return setupTabs();
}
