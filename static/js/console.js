// The clinician's console: availability, the live queue with arrival alerts, accept / take
// next, and the follow-up referrals.
import { Alerter } from './alert.js';
import { showConsultOffer } from './consult-offer.js';
import { api, changeOnce } from './api.js';
import { loadDirectory } from './areas.js';
import { AGE_BANDS, CONCERNS, MODES, URGENCIES, clock, el, label } from './labels.js';
import { Live } from './live.js';
import { Referrals } from './referrals.js';
import { TransferOffers } from './transfer-offer.js';
import { WaitingMessage } from './waiting-message.js';
import { apiSignedIn, signInAgain } from './resignin.js';
import { $ } from './dom.js';

const root = $('console');
const me = root.dataset.userId;
let availability = 'offline';
let queue = [];
let fetchedAt = Date.now();
let queueTimer = null;
let directory = { area: (id) => id || '', board: (id) => id || '' };  // names once read

const referrals = new Referrals({ list: $('referral-list'), empty: $('referral-empty'),
                                  scope: $('referral-scope'), message: $('referral-message') });
const alerter = new Alerter(showAlertStatus);
const offers = new TransferOffers();
const waitingMessage = new WaitingMessage();

function notice(text) {
  $('queue-message').textContent = text || '';
  $('queue-message').hidden = !text;
}

// ---- availability and alerts --------------------------------------------------------------

function showAvailability(status) {
  availability = status;
  const toggle = $('availability-toggle');
  $('availability-status').textContent = status;
  $('availability-status').className = `availability-status is-${status}`;
  toggle.textContent = status === 'available' ? 'Go offline' : 'Go available';
  toggle.setAttribute('aria-pressed', String(status === 'available'));
  toggle.disabled = false;
  showAlertStatus();
}

function showAlertStatus() {
  const parts = [];
  if (availability !== 'available') parts.push('Go available to be alerted to new requests.');
  else {
    parts.push(alerter.soundReady ? 'Tone on.' : 'Click anywhere on this page to turn the tone on.');
    if (!('Notification' in window)) parts.push('This browser cannot show notifications.');
    else if (Notification.permission === 'denied') parts.push('Notifications are blocked in the browser.');
    else if (Notification.permission === 'granted') parts.push('Notifications on.');
  }
  $('alert-status').textContent = parts.join(' ');
}

$('availability-toggle').addEventListener('click', async () => {
  const next = availability === 'available' ? 'offline' : 'available';
  if (next === 'available') alerter.prime();
  try {
    showAvailability((await apiSignedIn('PUT', '/api/v1/availability', { status: next })).status);
    if (availability === 'available') alertWaitingUrgent();
  } catch (error) {
    notice(`Could not change availability: ${error.message}`);
  }
});
// Browsers allow sound only after the user has interacted with the page.
for (const kind of ['pointerdown', 'keydown']) {
  document.addEventListener(kind, () => { if (availability === 'available') alerter.prime(); });
}

function alertFor(item, title = 'New request') {
  const concerns = (item.concerns || []).map((c) => label(CONCERNS, c)).join(', ');
  $('arrivals').textContent = `${title}: priority ${item.priority}, `
    + `${label(URGENCIES, item.urgency)}${placeOf(item) ? `, ${placeOf(item)}` : ''}.`;
  if (availability !== 'available') return;
  alerter.alert(title, [`P${item.priority} ${label(URGENCIES, item.urgency)}`,
                                item.area || item.place, concerns].filter(Boolean).join(' · '),
                item.id);
  root.dataset.alerts = String(alerter.count);
}

// Going available with a priority-1 request already waiting: the tone, as if it had just come.
async function alertWaitingUrgent() {
  await loadQueue();
  const urgent = queue.find((item) => item.priority === 1);
  if (urgent && availability === 'available') alertFor(urgent, 'Priority 1 waiting');
}

// ---- queue --------------------------------------------------------------------------------

const RISK = {
  imminent: ['C-SSRS: imminent risk', 'risk imminent'],
  ideation: ['C-SSRS: suicidal ideation', 'risk ideation'],
};

function riskFlag(item) {
  const [text, kind] = RISK[item.risk_flag] || [];
  return text ? el('span', { class: `flag ${kind}`, 'data-testid': 'queue-risk' }, text) : null;
}

/** Where the request is: the officer's words, then the area and board by name. */
function placeOf(item) {
  const area = directory.area(item.area_id);
  const named = area || item.area;
  return [item.place, named, item.area && item.area !== named ? item.area : null,
          directory.board(item.board)].filter(Boolean).join(' · ');
}

function queueItem(item) {
  const where = placeOf(item) || 'Place not given';
  const who = [label(AGE_BANDS, item.age_band),
               item.concerns.map((c) => label(CONCERNS, c)).join(', ') || 'No concerns ticked'];
  return el('li', { class: `queue-item priority-${item.priority}`, 'data-testid': 'queue-item',
                    dataset: { requestId: item.id } },
    el('div', { class: 'line' },
       el('span', { class: `badge p${item.priority}`, title: 'Priority' }, `P${item.priority}`),
       el('strong', {}, label(URGENCIES, item.urgency)), ` · ${label(MODES, item.mode)}`,
       riskFlag(item),
       el('span', { class: 'waited', 'data-testid': 'queue-waited' })),
    el('p', { class: 'place', 'data-testid': 'queue-place' }, where),
    el('p', { class: 'muted small' }, [item.incident_ref, ...who].filter(Boolean).join(' · ')),
    el('button', { type: 'button', class: 'primary accept', 'data-testid': 'accept-request',
                   dataset: { requestId: item.id } }, 'Accept'),
    ' ',
    el('button', { type: 'button', class: 'message', 'data-testid': 'message-officer',
                   dataset: { requestId: item.id, label: item.incident_ref || where } },
       'Message officer'));
}

function renderQueue() {
  $('queue-list').replaceChildren(...queue.map(queueItem));
  $('queue-count').textContent = String(queue.length);
  $('queue-empty').hidden = queue.length > 0;
  $('take-next').disabled = queue.length === 0;
  tick();
}

function tick() {
  const since = (Date.now() - fetchedAt) / 1000;
  const waited = new Map(queue.map((item) => [item.id, item.waited_s + since]));
  for (const li of $('queue-list').children) {
    li.querySelector('.waited').textContent = `waited ${clock(waited.get(li.dataset.requestId))}`;
  }
  const longest = Math.max(0, ...waited.values());
  $('longest-wait').textContent = queue.length ? `longest ${clock(longest)}` : '';
}

async function loadQueue() {
  try {
    queue = (await api('GET', '/api/v1/queue')).waiting;
    fetchedAt = Date.now();
    renderQueue();
  } catch (error) {
    if (error.status === 401) {
      await signInAgain();  // in place: the console and its alerts stay as they are
      reload();
    }
  }
}

function scheduleQueue() {
  clearTimeout(queueTimer);
  queueTimer = setTimeout(loadQueue, 100);
}

// Accept or take next with one Idempotency-Key, retried with that key after a 503 or a lost
// answer: the retry answers the session the first attempt got (never a 409 for our own
// accept, never a second request taken by "take next").
async function take(path) {
  notice('');
  for (const button of document.querySelectorAll('.accept, #take-next')) button.disabled = true;
  try {
    const request = await changeOnce('POST', path);
    location.href = `/session/${request.id}`;
  } catch (error) {
    if (error.status === 409) notice('Someone else took it. The queue has been refreshed.');
    else if (error.code === 'queue_empty') notice('Nobody is waiting.');
    else notice(`Could not accept: ${error.message}`);
    await loadQueue();
  }
}

$('queue-list').addEventListener('click', (event) => {
  const button = event.target.closest('.accept');
  if (button) take(`/api/v1/requests/${button.dataset.requestId}/accept`);
  const message = event.target.closest('.message');
  if (message) waitingMessage.open(message.dataset.requestId, message.dataset.label);
});
$('take-next').addEventListener('click', () => take('/api/v1/queue/next'));

function showActive(request) {
  if (request.status !== 'in_session' || request.clinician?.id !== me) return;
  if (document.querySelector(`#active-list a[href="/session/${request.id}"]`)) return;
  $('active-list').append(el('li', {}, el('a', { class: 'button primary', href: `/session/${request.id}`,
                                                 'data-testid': 'resume-session' }, 'Resume call')));
  $('active-sessions').hidden = false;
}

// ---- live ---------------------------------------------------------------------------------

async function reload() {
  await Promise.all([
    loadQueue(), referrals.load(), offers.load(),
    api('GET', '/api/v1/availability').then((r) => showAvailability(r.status))
      .catch((error) => console.warn('console: availability not re-read', error)),
  ]);
}

new Live({
  onMessage(message) {
    if (message.type === 'request.created') {
      scheduleQueue();
      alertFor(message.request);
    } else if (message.type === 'request.updated') {
      scheduleQueue();
      showActive(message.request);
      offers.requestChanged(message.request);
      if (message.request.status === 'completed') referrals.load();
    } else if (message.type === 'referral') {
      referrals.load();
    } else if (message.type === 'consult.offered') {
      showConsultOffer(message);
    } else if (message.type === 'queue.changed') {
      if (message.waiting !== queue.length) scheduleQueue();
    } else if (message.type?.startsWith('transfer.')) {
      offers.onMessage(message);
    }
  },
  onReconnect: reload,
  onSignedOut: signInAgain,
});
setInterval(tick, 1000);
reload();
loadDirectory().then((names) => {
  directory = names;
  renderQueue();
});
