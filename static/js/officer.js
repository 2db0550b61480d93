// The officer's phone page: the request form, the waiting screen, the phone fallback.
import { api, ApiError, uid } from './api.js';
import { answered } from './chime.js';
import { keepDraft } from './draft.js';
import { clearErrors, showErrors } from './form-errors.js';
import { clock, roughly } from './labels.js';
import { Live } from './live.js';
import { setupRequestForm } from './request-form.js';

const $ = (id) => document.getElementById(id);
const root = $('officer');
const form = $('request-form');
const LONG_WAIT_S = Number(root.dataset.longWaitS) || 600;
const RETRIES = 4;
const RECENT_OUTCOME_MS = 12 * 3600 * 1000;

let current = null;  // the officer's open request
let idempotencyKey = null;  // kept until the request is safely created, so retries never duplicate
const requestForm = setupRequestForm(form);
const draft = keepDraft(form, 'officer-request-draft');  // survives a sign-in or a reload
draft.restore();

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

function show(section) {
  for (const id of ['request-form', 'waiting', 'ended']) $(id).hidden = id !== section;
  $('waiting-extras').hidden = section === 'ended';  // the camera and connection test
  if (section !== 'request-form') $('last-outcome').hidden = true;
  window.scrollTo(0, 0);
}

function say(id, text) {
  $(id).textContent = text || '';
  $(id).hidden = !text;
}

// ---- request form -------------------------------------------------------------------------

async function createWithRetry(body) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await api('POST', '/api/v1/requests', body, { 'Idempotency-Key': idempotencyKey });
    } catch (error) {
      const answered = error instanceof ApiError && error.status < 500 && error.status !== 429;
      if (answered) throw error;
      if (attempt >= RETRIES) {
        throw new Error('No connection: the request was not sent. Press the button again; '
                        + 'it will never be sent twice.');
      }
      say('page-status', 'Weak signal: trying again…');
      await sleep(1000 * 2 ** attempt);
    }
  }
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearErrors(form);
  say('form-error', '');
  const button = form.querySelector('[type=submit]');
  button.disabled = true;
  idempotencyKey = idempotencyKey || uid();
  try {
    const request = await createWithRetry(requestForm.collect());
    idempotencyKey = null;
    requestForm.reset();
    draft.clear();
    enter(request);
  } catch (error) {
    if (error.status === 401) location.href = '/?next=/officer';
    if (error.status === 422 && !form.elements.consent.checked) {
      error.fields = { ...error.fields, consent: 'must be true' };  // checked only after the rest
    }
    const unplaced = error.status === 422 ? showErrors(form, error.fields) : [];
    if (error.status !== 422 || unplaced.length || !Object.keys(error.fields).length) {
      say('form-error', [error.message, ...unplaced].join(' '));
    } else {
      say('form-error', 'Please check the fields marked above.');
    }
  } finally {
    button.disabled = false;
    say('page-status', '');
  }
});

// ---- waiting and after --------------------------------------------------------------------

function enter(request) {
  current = request;
  if (request.status === 'waiting') showWaiting(request);
  else if (request.status === 'in_session') {
    answered();
    location.href = `/session/${request.id}`;
  }
  else if (request.status === 'expired') {
    ended('Nobody could answer in time', 'No clinician was free to take your request.', true);
  } else if (request.status === 'cancelled') {
    ended('Request cancelled', 'Your request was withdrawn from the queue.', false);
  } else if (request.status === 'completed') location.href = `/session/${request.id}`;
}

function showWaiting(request) {
  show('waiting');
  $('waiting-ref').textContent = request.incident_ref || '';
  updatePosition(request.position, request.estimated_wait_s);
  showFallback(request.fallback);
  tick();
}

// The server says when the phone line is the better bet: nobody on duty, a long wait, expiry.
function showFallback(fallback) {
  $('fallback').hidden = !fallback;
  $('fallback').dataset.reason = fallback?.reason || '';
  if (!fallback) return;
  $('fallback-message').textContent = fallback.message;
  $('fallback-phone').textContent = `Phone ${fallback.phone}`;
  $('fallback-phone').href = `tel:${fallback.phone.replace(/\s+/g, '')}`;
  $('phone-fallback').hidden = true;
}

function updatePosition(position, estimate) {
  $('queue-position').textContent = !position ? 'In the queue'
    : position === 1 ? 'You are next in the queue' : `Number ${position} in the queue`;
  $('queue-estimate').textContent = estimate == null ? '' : `Estimated wait: ${roughly(estimate)}`;
}

function tick() {
  if (!current || current.status !== 'waiting') return;
  const waited = (Date.now() - Date.parse(current.created_at)) / 1000;
  $('waited').textContent = clock(waited);
  $('phone-fallback').hidden = waited < LONG_WAIT_S || Boolean(current.fallback);
}

function ended(title, text, phone) {
  show('ended');
  $('ended-title').textContent = title;
  $('ended-text').textContent = text;
  $('ended-phone').hidden = !phone;
  const number = current?.fallback?.phone || current?.phone_fallback;
  if (phone && number) {
    $('ended-phone-link').textContent = number;
    $('ended-phone-link').href = `tel:${number.replace(/\s+/g, '')}`;
  }
}

function showLastOutcome(request) {
  const recent = request?.status === 'completed'
    && Date.now() - Date.parse(request.completed_at) < RECENT_OUTCOME_MS;
  $('last-outcome').hidden = !recent;
  if (!recent) return;
  $('last-ref').textContent = request.incident_ref || '';
  $('last-link').href = `/session/${request.id}`;
}

async function refresh() {
  try {
    if (current) {
      enter(await api('GET', `/api/v1/requests/${current.id}`));
      return;
    }
    const { requests } = await api('GET', '/api/v1/requests?scope=mine');
    const open = requests.find((r) => r.status === 'waiting' || r.status === 'in_session');
    if (open) enter(open);
    else {
      show('request-form');
      showLastOutcome(requests[0]);
    }
  } catch (error) {
    if (error.status === 401) location.href = '/?next=/officer';
    else if (!current) show('request-form');
  }
}

$('cancel-request').addEventListener('click', () => {
  $('cancel-confirm').hidden = false;
  $('cancel-request').hidden = true;
});
$('cancel-no').addEventListener('click', () => {
  $('cancel-confirm').hidden = true;
  $('cancel-request').hidden = false;
});
$('cancel-yes').addEventListener('click', async () => {
  $('cancel-confirm').hidden = true;
  $('cancel-request').hidden = false;
  try {
    enter(await api('POST', `/api/v1/requests/${current.id}/cancel`));
  } catch (error) {
    say('page-error', error.status === 409 ? 'Too late to cancel: it is no longer waiting.'
                                           : `Could not cancel: ${error.message}`);
    refresh();
  }
});
$('new-request').addEventListener('click', () => {
  current = null;
  say('page-error', '');
  show('request-form');
});

function onMessage(message) {
  if (!current) return;
  if (message.type === 'queue.changed' && message.request_id === current.id) {
    current = { ...current, estimated_wait_s: message.estimated_wait_s };
    updatePosition(message.position, message.estimated_wait_s);
  } else if (message.type === 'request.updated' && message.request?.id === current.id) {
    enter({ ...current, ...message.request });
  }
}

new Live({
  onMessage,
  onReconnect: refresh,
  onState: (state) => {
    $('live-status').textContent = state === 'open' ? 'live' : 'reconnecting…';
  },
});
setInterval(tick, 1000);
refresh();
