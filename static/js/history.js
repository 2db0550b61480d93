// The person's earlier contacts on the clinician's session page: read only when the clinician
// asks (each read logged with its reason), a possible match confirmed or rejected.
import { api } from './api.js';
import { $ } from './dom.js';
import { DISPOSITIONS, REFERRAL_STATUSES, SERVICES, el, label, when } from './labels.js';

const REASON = 'assessment in session';

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/** How a contact was linked: `chi`, `possible` (name and date of birth) or `confirmed`. */
function matchOf(contact) {
  if (contact.matched_by === 'chi') return 'chi';
  return contact.confirmed ? 'confirmed' : 'possible';
}

const MATCH_TEXT = {
  chi: 'Same CHI number',
  possible: 'Possible match: same name and date of birth. Is it the same person?',
  confirmed: 'Same name and date of birth, confirmed as the same person',
};

function summaryText(history) {
  if (!history.matched_by) {
    return 'No CHI number, or name with date of birth, was given (or linking is off): '
      + 'earlier contacts cannot be looked up.';
  }
  const n = history.contacts.length;
  if (!n) return 'No earlier contacts in the last 24 months.';
  const possible = history.contacts.filter((c) => matchOf(c) === 'possible').length;
  const found = `Seen ${plural(n, 'time', 'times')} before in the last 24 months`;
  return possible ? `${found} (${plural(possible, 'possible match', 'possible matches')}: check each).`
    : `${found}.`;
}

function contactItem(contact, judge) {
  const match = matchOf(contact);
  const referral = contact.referral
    ? `Referral: ${label(SERVICES, contact.referral.service)} (${label(REFERRAL_STATUSES, contact.referral.status)})`
    : null;
  const outcome = contact.triage_code
    ? `Triage code ${contact.triage_code} · ${label(DISPOSITIONS, contact.disposition)}`
    : `No outcome (${contact.status.replace('_', ' ')})`;
  const summary = contact.summary ? el('blockquote', { 'data-testid': 'history-summary-text' }, contact.summary)
    : (contact.status === 'completed' ? el('p', { class: 'muted small' }, 'Clinical summary no longer held.') : null);
  const item = el('li', { 'data-testid': 'history-contact', dataset: { match, requestId: contact.request_id } },
    el('p', { class: 'match' }, MATCH_TEXT[match]),
    el('p', {}, el('strong', {}, when(contact.created_at)), contact.area ? ` · ${contact.area}` : ''),
    el('p', {}, outcome),
    referral && el('p', {}, referral),
    summary);
  if (match === 'possible') {
    item.append(el('div', { class: 'verdict' },
      button('Same person', 'history-confirm', () => judge(contact.request_id, 'confirm')),
      button('Not this person', 'history-reject', () => judge(contact.request_id, 'reject'))));
  }
  return item;
}

function button(text, testid, onClick) {
  const found = el('button', { type: 'button', 'data-testid': testid }, text);
  found.addEventListener('click', onClick);
  return found;
}

/** Wire the earlier-contacts panel of request `requestId`. */
export function setupHistory(requestId) {
  const card = $('history-card');
  const error = (text) => {
    $('history-error').textContent = text || '';
    $('history-error').hidden = !text;
  };

  async function show() {
    error('');
    try {
      const history = await api('GET', `/api/v1/requests/${requestId}/history`, undefined,
                                { 'X-Access-Reason': REASON });
      $('history-summary').textContent = summaryText(history);
      $('history-summary').hidden = false;
      $('history-list').replaceChildren(...history.contacts.map((c) => contactItem(c, judge)));
      card.dataset.state = 'shown';
      card.dataset.count = String(history.contacts.length);
      $('history-show').textContent = 'Read again';
    } catch (failure) {
      error(failure.status === 409 ? 'Earlier contacts are shown only during the session.'
                                   : `Could not read earlier contacts: ${failure.message}`);
    }
  }

  async function judge(contactId, verdict) {
    error('');
    try {
      await api('POST', `/api/v1/requests/${requestId}/history/${verdict}`, { request_id: contactId });
    } catch (failure) {
      error(`Could not record that: ${failure.message}`);
      return;
    }
    await show();
  }

  $('history-show').addEventListener('click', show);
}
