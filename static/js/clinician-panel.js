// The clinician's side of the session page: the request details, the outcome form, release.
import { api } from './api.js';
import { AGE_BANDS, CONCERNS, CSSRS, MODES, SEXES, URGENCIES, el, label, when } from './labels.js';
import { setupOutcomeForm } from './outcome-form.js';

const $ = (id) => document.getElementById(id);

function screening(cssrs) {
  const answered = Object.entries(cssrs || {}).filter(([, answer]) => answer !== null);
  if (!answered.length) return 'Not asked';
  return el('ul', { class: 'cssrs-answers' }, ...answered.map(([q, yes]) => el(
    'li', { class: yes ? 'yes' : 'no' }, `${q.replace('_', ' ')} ${label(CSSRS, q)}: `,
    el('strong', {}, yes ? 'Yes' : 'No'))));
}

/** Fill the details list beside the call. */
export function renderDetails(r) {
  const place = r.location || {};
  const person = r.subject || {};
  const rows = [
    ['Priority', `P${r.priority} · ${label(URGENCIES, r.urgency)} · asked for ${label(MODES, r.mode)}`],
    ['Incident', r.incident_ref],
    ['Officer', r.officer?.display_name],
    ['Asked', r.created_at && when(r.created_at)],
    ['Location', [place.description, place.area].filter(Boolean).join(' · ')],
    ['Coordinates', place.lat != null ? `${place.lat}, ${place.lon}` : null],
    ['Person', [person.known_name, label(AGE_BANDS, person.age_band), label(SEXES, person.sex)]
      .filter(Boolean).join(' · ')],
    ['Concerns', (r.concerns || []).map((c) => label(CONCERNS, c)).join(', ') || 'None ticked'],
    ['C-SSRS', screening(r.screening?.cssrs)],
    ['Notes', r.notes],
  ];
  $('request-details').replaceChildren(...rows.filter(([, value]) => value).flatMap(
    ([term, value]) => [el('dt', {}, term), el('dd', {}, value)]));
}

/** Wire the outcome form and the release button; `say(text)` reports a problem. */
export function setupClinician({ requestId, onFiled, say }) {
  setupOutcomeForm({ form: $('outcome-form'), requestId, onFiled });
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
}
