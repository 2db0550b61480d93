// A receiving team's inbox: its referrals due soonest first, overdue in red, each with the
// clinician's handover; accept, decline (with a reason), complete or record a non-attendance
// in one click; new referrals and changes arrive live over /ws.
import { api } from './api.js';
import { REFERRAL_STATUSES, SERVICES, el, label, when } from './labels.js';
import { Live } from './live.js';

const $ = (id) => document.getElementById(id);
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
  return el('li', { class: `inbox-item${referral.overdue ? ' overdue' : ''}`,
                    'data-testid': 'inbox-item', dataset: { referralId: referral.id,
                                                            status: referral.status } },
    el('div', { class: 'row' },
       el('strong', {}, label(SERVICES, referral.service)),
       el('span', { class: 'badge' }, `Urgency ${referral.urgency}`),
       el('span', { class: `status status-${referral.status}`, 'data-testid': 'inbox-status' },
          label(REFERRAL_STATUSES, referral.status)),
       referral.overdue ? el('span', { class: 'badge overdue-badge' }, 'Overdue') : null),
    el('p', { class: 'due' }, `Due ${when(referral.due_at)}`),
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

function render() {
  sortShown();
  $('inbox-list').replaceChildren(...shown.map(item));
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
  if (!known && referral.status === 'pending') {
    $('inbox-arrivals').textContent = `New ${label(SERVICES, referral.service)} referral, urgency ${referral.urgency}.`;
  }
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
setInterval(render, 60000);  // overdue marks move on with the clock
load();
