// The supervisor's alarm list, built for triage: open alarms grouped by cause (the cause with
// the most severe, longest-open alarm first), critical before warning and oldest first within
// a cause, critical ones marked by their own style, an icon and the word. Supervisors tick
// several (or a whole cause) and acknowledge them with one note, and focus stays in the list;
// an unacknowledged critical alarm sounds again every minute; acknowledged ones, with their
// notes, fold into a history. Changes are announced in the page's live regions, not here.
import { api, changeOnce } from './api.js';
import { Alerter } from './alert.js';
import { $ } from './dom.js';
import { el, plural, when } from './labels.js';
import { announce } from './sup-announce.js';

export const RESOUND_MS = 60 * 1000;
const CAUSES = {
  no_clinician_on_duty: 'Nobody on duty', long_wait: 'Long waits',
  expired: 'Expired unanswered', referral_overdue: 'Overdue referrals',
  referral_declined: 'Declined referrals', referral_unstaffed: 'Referrals to unstaffed teams',
  s298_due: 's298 notices due',
};
const SEVERITY = { critical: 0, warning: 1 };
const HISTORY_SHOWN = 50;

const list = $('alarm-list');
const empty = $('alarm-none');
const soundButton = $('alarm-sound');
const canAcknowledge = list.dataset.canAcknowledge === 'yes';  // supervisors; admins only read
const alerter = new Alerter(() => {
  soundButton.textContent = alerter.soundReady ? 'Alarm sound on' : 'Turn on alarm sound';
});
const open = new Map();  // alarm id -> alarm, open ones only
const history = new Map();  // alarm id -> acknowledged alarm

soundButton.addEventListener('click', () => alerter.prime());
document.addEventListener('click', () => { if (!alerter.soundReady) alerter.prime(); }, { once: true });

const SVG = 'http://www.w3.org/2000/svg';
function icon(level) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', 'level-icon');
  const shape = document.createElementNS(SVG, 'path');
  shape.setAttribute('d', level === 'critical' ? 'M8 1 15.5 15H.5Z M7 6h2v4.5H7Z M7 12h2v2H7Z'
    : 'M8 1a7 7 0 1 0 0 14A7 7 0 0 0 8 1Z M7 4h2v5H7Z M7 10.5h2v2H7Z');
  shape.setAttribute('fill-rule', 'evenodd');
  svg.append(shape);
  return svg;
}

const levelTag = (level) => el('span', { class: `level-tag ${level}` }, icon(level),
  level === 'critical' ? 'Critical' : 'Warning');

const age = (alarm) => Date.now() - Date.parse(alarm.raised_at);
function openFor(alarm) {
  const minutes = Math.floor(age(alarm) / 60000);
  if (minutes < 1) return 'just now';
  return minutes < 120 ? `${plural(minutes, 'minute')} ago` : `${plural(Math.floor(minutes / 60), 'hour')} ago`;
}
const byUrgency = (a, b) => SEVERITY[a.level] - SEVERITY[b.level] || age(b) - age(a);

/** Open alarms in triage order, as [cause, alarms] groups. */
function groups() {
  const found = new Map();
  for (const alarm of [...open.values()].sort(byUrgency)) {
    if (!found.has(alarm.kind)) found.set(alarm.kind, []);
    found.get(alarm.kind).push(alarm);
  }
  return [...found.entries()].sort(([, a], [, b]) => byUrgency(a[0], b[0]));
}

async function showRequest(alarm, box) {
  try {
    const r = await api('GET', `/api/v1/requests/${alarm.request_id}`);
    box.textContent = [`Status ${r.status}`, `priority ${r.priority} (${r.urgency})`,
      r.location?.area ? `area ${r.location.area}` : null, `asked ${when(r.created_at)}`,
      r.clinicians_on_duty != null ? `${plural(r.clinicians_on_duty, 'clinician')} on duty` : null]
      .filter(Boolean).join(' · ');
  } catch (error) {
    box.textContent = `Could not load the request: ${error.message}`;
  }
  box.hidden = false;
}

function links(alarm, details) {
  if (alarm.request_id) {
    const link = el('a', { href: `/supervisor/requests/${alarm.request_id}`,
                           'data-testid': 'alarm-request' }, 'Request details');
    link.addEventListener('click', (event) => {
      if (event.ctrlKey || event.metaKey || event.shiftKey) return;  // a new tab: the page
      event.preventDefault();
      showRequest(alarm, details);
    });
    return link;
  }
  if (alarm.kind === 's298_due' && alarm.referral_id && canAcknowledge) {
    return el('a', { href: `/api/v1/referrals/${alarm.referral_id}/s298-notice`, target: '_blank',
                     rel: 'noopener', 'data-testid': 'alarm-s298-notice' }, 'Printable s298 notice');
  }
  return null;
}

function item(alarm, group) {
  const pickId = `alarm-pick-${alarm.id}`;
  const text = [levelTag(alarm.level), ' ', alarm.message];
  const details = el('p', { class: 'small alarm-request', hidden: true });
  const note = el('input', { class: 'alarm-note', maxlength: '1000', placeholder: 'Note (optional)',
                             'aria-label': 'Note', 'data-testid': 'alarm-note' });
  const ack = el('button', { type: 'button', 'data-testid': 'alarm-ack' }, 'Acknowledge');
  ack.addEventListener('click', () => acknowledge([alarm.id], note.value));
  return el('li', { class: `alarm-record ${alarm.level}`,
                    dataset: { alarmId: alarm.id, kind: alarm.kind, level: alarm.level } },
    group,
    el('div', { class: 'alarm-main' },
      el('div', { class: 'alarm-line' },
        canAcknowledge ? el('input', { type: 'checkbox', id: pickId, class: 'alarm-pick',
                                       'data-testid': 'alarm-pick', value: alarm.id }) : null,
        canAcknowledge ? el('label', { for: pickId }, ...text) : el('span', {}, ...text)),
      el('p', { class: 'alarm-meta small' }, [alarm.area?.name, alarm.board?.name,
        `raised ${when(alarm.raised_at)} (${openFor(alarm)})`].filter(Boolean).join(' · '), ' ',
      links(alarm, details)),
      details),
    canAcknowledge ? el('div', { class: 'alarm-actions' }, note, ack) : null);
}

function groupHead(kind, alarms) {
  const critical = alarms.filter((a) => a.level === 'critical').length;
  const head = el('h3', { class: 'alarm-group-head', 'data-testid': 'alarm-group' },
    `${CAUSES[kind] || kind}: ${plural(alarms.length, 'alarm')}`,
    critical ? el('span', { class: 'muted small' }, ` (${critical} critical)`) : null);
  if (canAcknowledge && alarms.length > 1) {
    const pick = el('button', { type: 'button', class: 'link small', dataset: { kind },
                                'data-testid': 'alarm-pick-group' }, `Select these ${alarms.length}`);
    pick.addEventListener('click', () => {
      for (const box of list.querySelectorAll(`li[data-kind="${kind}"] .alarm-pick`)) box.checked = true;
      selectionChanged();
    });
    return el('div', { class: 'alarm-group-row' }, head, pick);
  }
  return head;
}

/** What a redraw must keep: ticks, notes being typed, and the focused control. */
function kept() {
  const picked = new Set([...list.querySelectorAll('.alarm-pick:checked')].map((b) => b.value));
  const notes = new Map([...list.querySelectorAll('li[data-alarm-id]')]
    .map((li) => [li.dataset.alarmId, li.querySelector('.alarm-note')?.value || '']));
  const active = document.activeElement;
  const at = active?.closest?.('#alarm-list li[data-alarm-id]');
  return { picked, notes, focus: at && [at.dataset.alarmId, active.dataset.testid] };
}

function restore({ picked, notes, focus }) {
  for (const li of list.querySelectorAll('li[data-alarm-id]')) {
    const box = li.querySelector('.alarm-pick');
    if (box) box.checked = picked.has(li.dataset.alarmId);
    const note = li.querySelector('.alarm-note');
    if (note) note.value = notes.get(li.dataset.alarmId) || '';
  }
  if (!focus) return;
  const li = list.querySelector(`li[data-alarm-id="${focus[0]}"]`);
  li?.querySelector(`[data-testid="${focus[1]}"]`)?.focus();
}

function render() {
  const before = kept();
  const items = groups().flatMap(([kind, alarms]) => alarms.map((alarm, i) =>
    item(alarm, i === 0 ? groupHead(kind, alarms) : null)));
  list.replaceChildren(...items);
  restore(before);
  empty.hidden = open.size > 0;
  $('alarm-count').textContent = String(open.size);
  $('alarm-batch')?.toggleAttribute('hidden', open.size === 0);
  selectionChanged();
}

function renderHistory() {
  const rows = [...history.values()]
    .sort((a, b) => Date.parse(b.acknowledged_at) - Date.parse(a.acknowledged_at))
    .slice(0, HISTORY_SHOWN);
  $('alarm-history-count').textContent = String(history.size);
  $('alarm-history-list').replaceChildren(...rows.map((alarm) => el('li', {
    class: `alarm-past ${alarm.level}`, dataset: { alarmId: alarm.id } },
    levelTag(alarm.level), ' ', alarm.message,
    el('span', { class: 'muted small' }, ` · acknowledged ${when(alarm.acknowledged_at)}`
      + `${alarm.acknowledged_by ? ` by ${alarm.acknowledged_by.display_name}` : ''}`),
    alarm.note ? el('p', { class: 'alarm-past-note small' }, el('strong', {}, 'Note: '), alarm.note)
      : null)));
}

function selectionChanged() {
  const button = $('alarm-ack-selected');
  if (!button) return;
  const count = list.querySelectorAll('.alarm-pick:checked').length;
  button.disabled = count === 0;
  button.textContent = count ? `Acknowledge ${plural(count, 'selected alarm')}` : 'Acknowledge selected';
}

/** After acknowledging: focus the alarm that now stands where the first acknowledged one
 * stood (else the one before it), or the list's heading when none is left. */
function keepFocus(index) {
  const boxes = [...list.querySelectorAll('li[data-alarm-id]')];
  const next = boxes[Math.min(index, boxes.length - 1)];
  const target = next?.querySelector('.alarm-pick') || next?.querySelector('.alarm-actions button')
    || $('alarm-records-title');
  target.focus();
}

async function acknowledge(ids, noteText) {
  const rows = [...list.querySelectorAll('li[data-alarm-id]')];
  const index = rows.findIndex((li) => ids.includes(li.dataset.alarmId));
  const note = noteText.trim() || null;
  try {
    const done = await changeOnce('POST', '/api/v1/alarms/ack', { ids, note });
    for (const alarm of done.acknowledged) settle(alarm);
    for (const skipped of done.skipped) open.delete(skipped.id);  // someone else, or gone
    render();
    renderHistory();
    keepFocus(Math.max(index, 0));
    const batchNote = $('alarm-batch-note');
    if (batchNote && ids.length > 1) batchNote.value = '';
    announce(`${plural(done.acknowledged.length, 'alarm')} acknowledged.`);
  } catch (error) {
    announce(`Could not acknowledge: ${error.message}`);
  }
}

function settle(alarm) {
  open.delete(alarm.id);
  if (alarm.acknowledged_at) history.set(alarm.id, alarm);
}

$('alarm-ack-selected')?.addEventListener('click', () => {
  const ids = [...list.querySelectorAll('.alarm-pick:checked')].map((box) => box.value);
  if (ids.length) acknowledge(ids, $('alarm-batch-note').value);
});
$('alarm-select-all')?.addEventListener('click', () => {
  const boxes = [...list.querySelectorAll('.alarm-pick')];
  const all = boxes.every((box) => box.checked);
  for (const box of boxes) box.checked = !all;
  selectionChanged();
});
list.addEventListener('change', (event) => {
  if (event.target.matches('.alarm-pick')) selectionChanged();
});

function update(alarm, { fresh = false } = {}) {
  if (alarm.acknowledged_at || alarm.resolved_at) {  // acknowledged, or its cause ended
    const shown = open.has(alarm.id);
    settle(alarm);
    if (shown) render();
    renderHistory();
    return;
  }
  if (open.has(alarm.id)) return;
  open.set(alarm.id, alarm);
  render();
  if (!fresh) return;
  const words = `${alarm.level === 'critical' ? 'Critical alarm' : 'Warning'}: ${alarm.message}`;
  announce(words, { urgent: alarm.level === 'critical' });
  if (alarm.level === 'critical') alerter.alert('Critical alarm', alarm.message, alarm.id);
}

/** Re-read the open alarms and the acknowledged ones (on load and after every reconnect). */
export async function loadAlarms() {
  try {
    const [current, all] = await Promise.all([api('GET', '/api/v1/alarms?status=open'),
      api('GET', '/api/v1/alarms?status=all')]);
    open.clear();
    history.clear();
    for (const alarm of current.alarms) open.set(alarm.id, alarm);
    for (const alarm of all.alarms) if (alarm.acknowledged_at) history.set(alarm.id, alarm);
    render();
    renderHistory();
  } catch (error) {
    empty.textContent = `Could not load the alarms: ${error.message}`;
    empty.hidden = false;
  }
}

/** A live `alarm` message: raised (announced, and sounded if critical), acknowledged (into the
 * history) or resolved (gone). */
export function alarmMessage(message) {
  update(message.alarm, { fresh: true });
}

/** Sound again while a critical alarm stays unacknowledged (called every RESOUND_MS). */
export function resoundCritical() {
  const waiting = [...open.values()].filter((a) => a.level === 'critical').length;
  if (!waiting) return;
  alerter.beep();
  document.body.dataset.alarmResounded = String(Number(document.body.dataset.alarmResounded || 0) + 1);
}
setInterval(resoundCritical, RESOUND_MS);
