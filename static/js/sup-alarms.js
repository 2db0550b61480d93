// The supervisor's alarm list: open alarms as records, each with its request, a sound for the
// critical ones and, for supervisors, an Acknowledge button (with an optional note).
import { api } from './api.js';
import { Alerter } from './alert.js';
import { el, when } from './labels.js';

const list = document.getElementById('alarm-list');
const empty = document.getElementById('alarm-none');
const soundButton = document.getElementById('alarm-sound');
const alerter = new Alerter(() => {
  soundButton.textContent = alerter.soundReady ? 'Alarm sound on' : 'Turn on alarm sound';
});
const shown = new Map();  // alarm id -> its list item
const canAcknowledge = list.dataset.canAcknowledge === 'yes';  // supervisors; admins only read

soundButton.addEventListener('click', () => alerter.prime());
document.addEventListener('click', () => { if (!alerter.soundReady) alerter.prime(); }, { once: true });

async function showRequest(alarm, box) {
  try {
    const r = await api('GET', `/api/v1/requests/${alarm.request_id}`);
    box.textContent = [`Status ${r.status}`, `priority ${r.priority} (${r.urgency})`,
      r.location?.area ? `area ${r.location.area}` : null, `asked ${when(r.created_at)}`,
      r.clinicians_on_duty != null ? `${r.clinicians_on_duty} clinician(s) on duty` : null]
      .filter(Boolean).join(' · ');
  } catch (error) {
    box.textContent = `Could not load the request: ${error.message}`;
  }
  box.hidden = false;
}

function item(alarm) {
  const note = el('input', { class: 'alarm-note', maxlength: '1000', placeholder: 'Note (optional)',
                             'aria-label': 'Note', 'data-testid': 'alarm-note' });
  const ack = el('button', { type: 'button', 'data-testid': 'alarm-ack' }, 'Acknowledge');
  const details = el('p', { class: 'small muted alarm-request', hidden: true });
  const link = alarm.request_id
    ? el('a', { href: `/api/v1/requests/${alarm.request_id}`, 'data-testid': 'alarm-request' },
      'Request details')
    : null;
  link?.addEventListener('click', (event) => {
    event.preventDefault();
    showRequest(alarm, details);
  });
  const node = el('li', { class: `alarm-record ${alarm.level}`,
                          dataset: { alarmId: alarm.id, kind: alarm.kind, level: alarm.level } },
    el('strong', {}, alarm.level === 'critical' ? 'Critical: ' : 'Warning: '), alarm.message,
    ' ', el('span', { class: 'muted small' }, when(alarm.raised_at)), ' ', link, details,
    canAcknowledge ? el('span', { class: 'alarm-actions' }, note, ack) : null);
  ack.addEventListener('click', async () => {
    ack.disabled = true;
    try {
      update(await api('POST', `/api/v1/alarms/${alarm.id}/ack`, { note: note.value.trim() || null }));
    } catch (error) {
      if (error.status === 409) remove(alarm.id);
      else { ack.disabled = false; details.textContent = `Could not acknowledge: ${error.message}`; details.hidden = false; }
    }
  });
  return node;
}

function remove(id) {
  shown.get(id)?.remove();
  shown.delete(id);
  empty.hidden = shown.size > 0;
}

function update(alarm, { fresh = false } = {}) {
  if (alarm.acknowledged_at) {
    remove(alarm.id);
    return;
  }
  if (shown.has(alarm.id)) return;
  const node = item(alarm);
  shown.set(alarm.id, node);
  list.prepend(node);
  empty.hidden = true;
  if (fresh && alarm.level === 'critical') alerter.alert('Critical alarm', alarm.message, alarm.id);
}

/** Re-read the open alarms (on load and after every reconnect). */
export async function loadAlarms() {
  try {
    const { alarms } = await api('GET', '/api/v1/alarms?status=open');
    const open = new Set(alarms.map((a) => a.id));
    for (const id of [...shown.keys()]) if (!open.has(id)) remove(id);
    for (const alarm of [...alarms].reverse()) update(alarm);
  } catch (error) {
    empty.textContent = `Could not load the alarms: ${error.message}`;
  }
}

/** A live `alarm` message: raised (sound if critical) or acknowledged (gone). */
export function alarmMessage(message) {
  update(message.alarm, { fresh: true });
}
