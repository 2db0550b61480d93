// A receiving team's inbox: its referrals due soonest first, overdue in red, each with the
// clinician's handover; accept, decline (with a reason), complete or record a non-attendance
// in one click; new referrals and changes arrive live over /ws, and a new one rings: a tone, a
// browser notification (when allowed) and a count in the tab's title until the page is seen.
import { api } from './api.js';
import { Alerter } from './alert.js';
import { REFERRAL_STATUSES, SERVICES, el, label, relativeDue, when } from './labels.js';
import { Live } from './live.js';
import { $ } from './dom.js';

// Urgency A and B need a face-to-face response within hours: they must not look routine.
const URGENT = new Set(['A', 'B']);
const title = document.title;
let unseen = 0;
const fresh = new Set();  // referrals that arrived live and have not been looked at yet
const alerter = new Alerter(() => {
  $('inbox-sound').textContent = alerter.soundReady
    ? 'Sound on for new referrals' : 'Turn on the sound and notifications for new referrals';
});
$('inbox-sound').addEventListener('click', () => alerter.prime());
document.addEventListener('click', () => { if (!alerter.soundReady) alerter.prime(); }, { once: true });

/** The page has been looked at: the title's count goes. */
function seen() {
  if (document.hidden || !unseen) return;
  unseen = 0;
  document.title = title;
  fresh.clear();
  // In place, not by redrawing: the press that marks the page seen may be on a button.
  for (const badge of document.querySelectorAll('.new-badge')) badge.remove();
}
document.addEventListener('visibilitychange', seen);
for (const kind of ['pointerdown', 'keydown']) document.addEventListener(kind, seen);

/** A new referral: tone, notification, title count and a word for screen readers. */
function ring(referral) {
  const what = `${label(SERVICES, referral.service)} referral, urgency ${referral.urgency}, `
    + `due ${relativeDue(referral.due_at)}`;
  $('inbox-arrivals').textContent = `New ${what}.`;
  const allowed = alerter.notificationsAllowed;
  alerter.alert(`New referral (urgency ${referral.urgency})`, what, referral.id);
  unseen += 1;
  fresh.add(referral.id);
  document.title = `(${unseen}) New referral · ${title}`;
  document.body.dataset.rang = String(Number(document.body.dataset.rang || 0) + 1);
  if (allowed) document.body.dataset.notified = String(Number(document.body.dataset.notified || 0) + 1);
}

const RISKS = { to_self: 'to self', to_others: 'to others', from_others: 'from others',
                self_neglect: 'self-neglect' };
const ACTIONS = {
  pending: [['accepted', 'Accept', 'primary'], ['declined', 'Decline', '']],
  accepted: [['completed', 'Complete', 'primary'], ['did_not_attend', 'Did not attend', '']],
};
const OPEN = new Set(['pending', 'accepted']);
let shown = [];

function say(text) {
  $('inbox-message').textContent = text || '';
  $('inbox-message').hidden = !text;
}

function belongs(referral) {
  const scope = $('inbox-scope').value;
  if (scope === 'all') return true;
  return scope === 'overdue' ? referral.overdue : OPEN.has(referral.status);
}

function sortShown() {
  if ($('inbox-scope').value === 'all') {
    shown.sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at));
  } else {
    shown.sort((a, b) => Date.parse(a.due_at) - Date.parse(b.due_at));
  }
}

function risks(risk) {
  if (!risk) return null;
  const parts = Object.entries(RISKS).filter(([key]) => risk[key])
    .map(([key, text]) => `${text}: ${risk[key]}`);
  return el('p', { class: 'small' }, el('strong', {}, 'Risk '), parts.join(' · '));
}

function stamps(referral) {
  const parts = ['accepted', 'declined', 'completed', 'did_not_attend']
    .filter((s) => referral[`${s}_at`])
    .map((s) => `${label(REFERRAL_STATUSES, s)} ${when(referral[`${s}_at`])}`);
  return parts.length ? el('p', { class: 'muted small' }, parts.join(' · ')) : null;
}

function actions(referral) {
  const buttons = (ACTIONS[referral.status] || []).map(([status, text, kind]) =>
    el('button', { type: 'button', class: kind, dataset: { status },
                   'data-testid': `referral-${status}` }, text));
  if (!buttons.length) return null;
  return el('div', { class: 'actions row' }, ...buttons,
    el('input', { name: 'note', maxlength: '1000', 'aria-label': 'Note or reason for declining',
                  placeholder: 'Note (a reason is needed to decline)' }));
}

function item(referral) {
  const h = referral.handover || {};
  return el('li', { class: `inbox-item urgency-${referral.urgency}${referral.overdue ? ' overdue' : ''}`,
                    'data-testid': 'inbox-item', dataset: { referralId: referral.id,
                                                            status: referral.status } },
    el('div', { class: 'inbox-row' },
       el('strong', {}, label(SERVICES, referral.service)),
       el('span', { class: `badge urgency urgency-${referral.urgency}`,
                    'data-testid': 'inbox-urgency' },
          URGENT.has(referral.urgency) ? el('span', { 'aria-hidden': 'true' }, '▲ ') : null,
          `Urgency ${referral.urgency}`),
       el('span', { class: `status status-${referral.status}`, 'data-testid': 'inbox-status' },
          label(REFERRAL_STATUSES, referral.status)),
       referral.overdue ? el('span', { class: 'badge overdue-badge' }, 'Overdue') : null,
       fresh.has(referral.id) ? el('span', { class: 'badge new-badge', 'data-testid': 'inbox-new' },
                                   'New') : null),
    el('p', { class: 'due', 'data-testid': 'inbox-due' }, `Due ${when(referral.due_at)}`,
       OPEN.has(referral.status) ? el('strong', {}, ` (${relativeDue(referral.due_at)})`) : null),
    referral.area ? el('p', { 'data-testid': 'inbox-area' }, el('strong', {}, 'Area '),
                       referral.area.name) : null,
    h.contact ? el('p', {}, el('strong', {}, 'Contact '), h.contact) : null,
    risks(h.risk),
    h.summary ? el('p', { class: 'text' }, el('strong', {}, 'Summary '), h.summary) : null,
    h.advice ? el('p', { class: 'text small' }, el('strong', {}, 'Advice given '), h.advice) : null,
    stamps(referral),
    el('p', { class: 'small' }, el('a', { href: `/api/v1/requests/${referral.request_id}/handover`,
                                          target: '_blank', rel: 'noopener' },
                                    'Printable handover')),
    actions(referral));
}

/** Redraw the list, keeping the notes being typed and the focused control (a new referral
 * or the minute's tick must not wipe a reason half written). */
function render() {
  sortShown();
  const list = $('inbox-list');
  const notes = new Map([...list.querySelectorAll('li[data-referral-id]')]
    .map((li) => [li.dataset.referralId, li.querySelector('input[name="note"]')?.value || '']));
  const active = document.activeElement;
  const at = active?.closest?.('#inbox-list li[data-referral-id]')?.dataset.referralId;
  const which = active?.name ? `[name="${active.name}"]` : active?.dataset?.status
    ? `[data-status="${active.dataset.status}"]` : null;
  list.replaceChildren(...shown.map(item));
  for (const li of list.querySelectorAll('li[data-referral-id]')) {
    const note = li.querySelector('input[name="note"]');
    if (note) note.value = notes.get(li.dataset.referralId) || '';
  }
  if (at && which) list.querySelector(`li[data-referral-id="${at}"] ${which}`)?.focus();
  $('inbox-empty').hidden = shown.length > 0;
  $('inbox-count').textContent = String(shown.filter((r) => OPEN.has(r.status)).length);
}

async function load() {
  try {
    ({ referrals: shown } = await api('GET', `/api/v1/referrals?status=${$('inbox-scope').value}`));
    say('');
    render();
  } catch (error) {
    say(`Could not load referrals: ${error.message}`);
  }
}

function upsert(referral) {
  const known = shown.some((r) => r.id === referral.id);
  shown = shown.filter((r) => r.id !== referral.id);
  if (belongs(referral)) shown.push(referral);
  if (!known && referral.status === 'pending') ring(referral);
  render();
}

$('inbox-list').addEventListener('click', async (event) => {
  const button = event.target.closest('button[data-status]');
  if (!button) return;
  const li = button.closest('li');
  const note = li.querySelector('input[name="note"]')?.value.trim();
  const body = { status: button.dataset.status };
  if (note) body.note = note;
  if (body.status === 'declined' && !note) {
    say('Say why you decline it (in the note) so the triage team can find another way.');
    li.querySelector('input[name="note"]').focus();
    return;
  }
  button.disabled = true;
  try {
    upsert(await api('PATCH', `/api/v1/referrals/${li.dataset.referralId}`, body));
    say('');
  } catch (error) {
    say(error.status === 409 ? 'Someone in your team already changed that referral.'
                             : `Could not update: ${error.message}`);
    await load();
  }
});
$('inbox-scope').addEventListener('change', load);

new Live({
  onMessage(message) {
    if (message.type === 'referral' && message.referral) upsert(message.referral);
  },
  onReconnect: load,
  onState(state) { $('live-state').textContent = state === 'open' ? 'Live.' : `${state}…`; },
});
setInterval(render, 60000);  // overdue marks and "due in" move on with the clock
load();
