// The officer's phone page: the request form, the waiting screen, the phone fallback.
import { api, changeOnce, isRetriable, uid } from './api.js';
import { answered, messaged } from './chime.js';
import { keepDraft } from './draft.js';
import { showEmergencyNumber } from './emergency.js';
import { clearErrors, showErrors } from './form-errors.js';
import { clock, el, roughly } from './labels.js';
import { Live } from './live.js';
import { setupRequestForm } from './request-form.js';
import { apiSignedIn, signInAgain } from './resignin.js';
import { $ } from './dom.js';

const root = $('officer');
const form = $('request-form');
const LONG_WAIT_S = Number(root.dataset.longWaitS) || 600;
const RETRIES = 4;
const RECENT_OUTCOME_MS = 12 * 3600 * 1000;

let current = null;  // the officer's open request
let idempotencyKey = null;  // kept until the request is safely created, so retries never duplicate
const requestForm = setupRequestForm(form);
const draft = keepDraft(form, 'officer-request');  // this officer's: survives a sign-in or a reload
draft.restore();


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

// Sent again with the same key after a 503 or a lost answer (never twice: the service
// answers a repeated key with the first answer), telling the officer while it retries.
async function createOnce(body) {
  try {
    return await changeOnce('POST', '/api/v1/requests', body, {
      key: idempotencyKey,
      attempts: RETRIES + 1,
      delayMs: 1000,
      onRetry: () => say('page-status', 'Weak signal: trying again…'),
    });
  } catch (error) {
    if (!isRetriable(error)) throw error;
    throw new Error('No connection: the request was not sent. Press the button again; '
                    + 'it will never be sent twice.');
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
    const request = await createOnce(requestForm.collect());
    idempotencyKey = null;
    requestForm.reset();
    draft.clear();
    enter(request);
  } catch (error) {
    if (error.status === 401) {
      // Signed in again in place, the request is sent again with the same key: never twice.
      await signInAgain();
      setTimeout(() => form.requestSubmit());
      return;
    }
    if (error.status === 422 && !form.elements.consent.value) {
      // checked only after the rest
      error.fields = { ...error.fields, consent: 'say whether the person agrees' };
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
  showEmergencyNumber(request.emergency_number);
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

// A clinician's message while the request waits ("with you in about 5 minutes"): the latest
// shows on the waiting screen, with a tone and a buzz when it arrives.
function showWaitingMessage(message, fresh) {
  $('waiting-message-from').textContent = `Message from ${message.author.display_name}:`;
  $('waiting-message-at').textContent = new Date(message.created_at)
    .toLocaleTimeString([], { timeStyle: 'short' });
  $('waiting-message-text').textContent = message.text;
  $('waiting-message').hidden = false;
  if (fresh) messaged();
}

async function loadWaitingMessage(requestId) {
  try {
    const { messages } = await api('GET', `/api/v1/requests/${requestId}/messages`);
    const last = messages.filter((m) => m.author.role === 'clinician').pop();
    if (last && current?.id === requestId) showWaitingMessage(last, false);
  } catch (error) {
    console.warn('officer: messages not loaded', error);
  }
}

function showWaiting(request) {
  if ($('waiting').dataset.requestId !== request.id) {
    $('waiting').dataset.requestId = request.id;
    $('waiting-message').hidden = true;
    loadWaitingMessage(request.id);
  }
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
  $('fallback-phone').replaceChildren('Phone ', el('span', { class: 'number' }, fallback.phone));
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
    $('ended-phone-link').replaceChildren('Phone ', el('span', { class: 'number' }, number));
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
    // Only what the page shows: the open request, else the newest one (its outcome).
    const { requests: open } = await api('GET', '/api/v1/requests?scope=mine&status=open&limit=1');
    if (open.length) enter(open[0]);
    else {
      const { requests: last } = await api('GET', '/api/v1/requests?scope=mine&limit=1');
      show('request-form');
      showLastOutcome(last[0]);
    }
  } catch (error) {
    if (error.status === 401) {
      await signInAgain();  // in place: the waiting screen (or the form as typed) stays
      refresh();
    } else if (!current) show('request-form');
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
    enter(await apiSignedIn('POST', `/api/v1/requests/${current.id}/cancel`));
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
  } else if (message.type === 'chat.message' && message.request_id === current.id
             && message.message?.author?.role === 'clinician' && current.status === 'waiting') {
    showWaitingMessage(message.message, true);
  }
}

new Live({
  onMessage,
  onReconnect: () => {
    refresh();
    if (current?.status === 'waiting') loadWaitingMessage(current.id);
  },
  onSignedOut: signInAgain,
  onState: (state) => {
    $('live-status').textContent = state === 'open' ? 'live' : 'reconnecting…';
  },
});
// No signal while waiting: say so (the request stays queued; the page catches up itself).
function showOnline() {
  $('offline').hidden = navigator.onLine;
}
window.addEventListener('online', showOnline);
window.addEventListener('offline', showOnline);
showOnline();
setInterval(tick, 1000);
refresh();
