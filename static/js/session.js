// The session page for both roles: the call (it starts by itself), chat, and the outcome.
import { api } from './api.js';
import { Call } from './call.js';
import { Chat } from './chat.js';
import { askFeedback } from './feedback.js';
import { answered, messaged } from './chime.js';
import { MODES, clock, el, label } from './labels.js';
import { Live } from './live.js';
import { signInAgain } from './resignin.js';

const $ = (id) => document.getElementById(id);
const root = $('session');
const { requestId, role, userId } = root.dataset;
const officer = role === 'officer';
let call = null;
let mode = null;
let asked = null;  // the mode this user just picked, to tell their own switch from the peer's
let renderDetails = null;  // the clinician's details panel (loaded only for clinicians)
let panel = null;  // the clinician's side panel (tabs, unread chat)
let acceptedAt = null;  // when the call began (ms), for the call timer
const ANSWER_CHIME_MS = 30000;  // a page opened this soon after the answer sounds it

// What the disposition means for the officer on scene, in plain words.
const NEXT_STEPS = {
  advice_only: 'Advice only: no mental-health follow-up has been arranged.',
  resolved_on_scene: 'The person can stay where they are, with the safety plan agreed.',
  nhs24_mh_hub: 'The NHS 24 Mental Health Hub will take over (phone 111).',
  dbi_referral: 'Distress Brief Intervention: a practitioner will contact the person within 24 hours.',
  non_urgent_referral: 'A non-urgent referral has been made (GP, community team or support service).',
  urgent_face_to_face: 'An urgent face-to-face mental-health assessment has been arranged.',
  emergency_department: 'The person should go to the Emergency Department.',
  informal_admission: 'The person is to be admitted to hospital informally (by agreement).',
  place_of_safety_s297: 'Take the person to the place of safety agreed (s297).',
  medical_examination_detention: 'A doctor must examine the person (emergency or short-term detention).',
  criminal_justice: 'Continue with the criminal-justice route; the advice is on record.',
  emergency_services: 'Emergency: call 999 for emergency services now.',
  not_completed: 'The assessment could not be completed.',
};
const CONVEYANCE = { police: 'by police', ambulance: 'by ambulance', other: 'by other transport' };

function say(text) {
  $('session-status').textContent = text || '';
  $('session-status').hidden = !text;
}

function notice(text) {
  $('call-notice').textContent = text || '';
  $('call-notice').hidden = !text;
}

const chat = new Chat({ requestId, me: userId, log: $('chat-log'), form: $('chat-form'),
                        input: $('chat-input'), error: $('chat-error') });

// ---- the call -----------------------------------------------------------------------------

function updateStage() {
  const state = root.dataset.state;
  const other = officer ? 'the clinician' : 'the officer';
  let text = '';
  if (mode === 'text') text = `Text chat only: use the chat ${officer ? 'below' : 'on the right'}.`;
  else if (state === 'failed') text = 'The call could not connect; retrying. The chat below still works.';
  else if (state === 'disconnected') text = 'Connection lost; reconnecting…';
  else if (state !== 'connected') text = `Connecting to ${other}…`;
  else if (mode === 'audio') text = `Audio call with ${other}.`;
  $('stage-note').textContent = text;
  $('stage-note').hidden = !text;
}

function showState(state) {
  $('connection-state').textContent = state;
  root.dataset.state = state;
  updateStage();
}

// What a step down because of the link means, in plain words, for both sides.
const WEAK_LINK = {
  audio: 'The connection is too weak for video, so the call has switched to audio only.',
  text: 'The connection is too weak for a call, so it has switched to text chat: use the chat.',
};

function showMode(next, reason) {
  if (reason === 'weak-link' && WEAK_LINK[next]) notice(WEAK_LINK[next]);
  else if (mode && next !== mode && next !== asked) notice(`The call is now ${label(MODES, next).toLowerCase()}.`);
  mode = next;
  asked = null;
  $('call-mode').textContent = next;
  root.classList.remove('mode-starting', 'mode-video', 'mode-audio', 'mode-text');
  root.classList.add(`mode-${next}`);
  for (const button of document.querySelectorAll('[data-mode]')) {
    button.setAttribute('aria-pressed', String(button.dataset.mode === next));
  }
  updateStage();
}

// The path the call takes (host, srflx or relay; udp or tcp; the address), for support and tests.
function showRoute(sample) {
  const end = (candidate) => candidate
    && `${candidate.candidateType}/${candidate.relayProtocol || candidate.protocol} ${candidate.address}`;
  root.dataset.routeLocal = end(sample.route?.local) || '';
  root.dataset.routeRemote = end(sample.route?.remote) || '';
}

function startCall(requestMode) {
  call = new Call({
    requestId, polite: officer, mode: requestMode, transport: (message) => live.send(message),
    localVideo: $('local-video'), remoteVideo: $('remote-video'),
    hooks: { onState: showState, onMode: showMode, onNotice: notice, onSample: showRoute,
             onLinkDown: () => live.probe(),
             onRecovered: () => notice('The connection is better now: press Video to try video again.'),
             onAutoplayBlocked: () => { $('play-remote').hidden = false; } },
  });
  call.start();
  if (live.isOpen) call.liveOpened();
}

for (const button of document.querySelectorAll('[data-mode]')) {
  button.addEventListener('click', () => {
    if (!call || button.dataset.mode === mode) return;
    asked = button.dataset.mode;
    notice('');
    call.switchMode(asked);
  });
}

function toggleButton(id, on, offText, onText, missing) {
  if (on === null) {
    notice(missing);
    return;
  }
  $(id).setAttribute('aria-pressed', String(on));
  $(id).textContent = on ? onText : offText;
}
$('mute').addEventListener('click', () => toggleButton(
  'mute', call?.toggleMute() ?? null, 'Mute', 'Unmute', 'There is no microphone in this call.'));
$('camera').addEventListener('click', () => toggleButton(
  'camera', call?.toggleCamera() ?? null, 'Camera off', 'Camera on', 'There is no camera in this call.'));
$('flip-camera').addEventListener('click', async () => {
  const facing = await call?.flipCamera();
  if (!facing) {
    notice('There is no camera in this call.');
    return;
  }
  $('local-video').classList.toggle('rear', facing === 'environment');
  $('flip-camera').textContent = facing === 'environment' ? 'Use front camera' : 'Use rear camera';
});
$('hang-up').addEventListener('click', () => {
  $('hang-up-confirm').hidden = false;
  $('hang-up-yes').focus();
});
$('hang-up-no').addEventListener('click', () => { $('hang-up-confirm').hidden = true; });
$('hang-up-yes').addEventListener('click', () => {
  $('hang-up-confirm').hidden = true;
  asked = 'text';
  call?.switchMode('text');
  notice('You hung up. The chat stays open.');
});
$('play-remote').addEventListener('click', () => {
  $('play-remote').hidden = true;
  call?.playRemote();
});

// ---- the request's state ------------------------------------------------------------------

function showPeople(request) {
  const other = officer ? request.clinician : request.officer;
  if (other?.display_name) $('peer-name').textContent = other.display_name;
  acceptedAt = request.accepted_at ? Date.parse(request.accepted_at) : null;
  tickTimer();
}

function tickTimer() {
  if (acceptedAt === null || root.classList.contains('ended')) return;
  $('call-timer').textContent = clock((Date.now() - acceptedAt) / 1000);
}
setInterval(tickTimer, 1000);

function showOutcome(outcome, completedAt) {
  const meaning = document.querySelector(`#triage-meaning [data-code="${outcome.triage_code}"]`);
  $('outcome-code').textContent = outcome.triage_code;
  $('outcome-meaning').textContent = meaning?.textContent || '';
  $('outcome-advice').textContent = outcome.advice_to_officer
    || 'The clinician gave no further advice.';
  $('outcome-disposition').textContent = NEXT_STEPS[outcome.disposition] || '';
  $('outcome-conveyance').textContent = CONVEYANCE[outcome.conveyance]
    ? `Transport: ${CONVEYANCE[outcome.conveyance]}.` : '';
  // Without a time of its own the officer was released when the outcome was filed.
  const released = outcome.officer_released_at || completedAt;
  $('outcome-released').textContent = released
    ? `You can leave now: released at ${new Date(released).toLocaleTimeString([], { timeStyle: 'short' })}.`
    : '';
  $('outcome-released').hidden = !released;
  $('officer-outcome').hidden = false;
  $('officer-outcome').scrollIntoView({ block: 'start' });
  $('outcome-title').focus({ preventScroll: true });
}

function finished(request) {
  call?.end();
  root.classList.add('ended');
  chat.close('The session has ended.');
  if (officer && request.outcome) {
    showOutcome(request.outcome, request.completed_at);
    askFeedback(request.id, request.feedback_given);
  }
  if (!officer && !$('filed-title')) {
    const heading = el('h2', { id: 'filed-title', tabindex: '-1', 'data-testid': 'filed-title' },
                       'Outcome filed');
    const done = el('p', {}, 'The officer can see your advice. ',
                    el('a', { href: '/console' }, 'Back to the console'));
    $('session-status').replaceChildren(heading, done);
    $('session-status').hidden = false;
    heading.focus();
  }
}

function apply(request) {
  if (!officer) renderDetails?.(request);
  showPeople(request);
  if (request.status === 'in_session') {
    if (!call && officer && Date.now() - (acceptedAt ?? 0) < ANSWER_CHIME_MS) answered();
    if (!call) startCall(request.mode);
  } else if (request.status === 'completed') {
    finished(request);
  } else if (request.status === 'waiting') {
    call?.end();
    chat.close('Back in the queue.');
    say(officer ? 'The clinician handed your request back to the queue; you keep your place.'
                : 'This request is back in the queue.');
    setTimeout(() => { location.href = officer ? '/officer' : '/console'; }, 2500);
  } else {
    call?.end();
    chat.close(`This request is ${request.status}.`);
    say(`This request is ${request.status}.`);
  }
}

async function refresh() {
  try {
    apply(await api('GET', `/api/v1/requests/${requestId}`));
  } catch (error) {
    if (error.status === 401) {
      await signInAgain();  // in place: the outcome form and the call stay as they are
      refresh();
    } else say(`Could not load the request: ${error.message}`);
  }
}

const live = new Live({
  onMessage(message) {
    if (message.type === 'signal' && message.request_id === requestId) call?.signal(message.data);
    else if (message.type === 'chat.message' && message.request_id === requestId) {
      if (chat.add(message.message)) {
        if (officer) messaged();
        else panel?.unread();
      }
    } else if (message.type === 'request.updated' && message.request?.id === requestId) refresh();
  },
  onState(state) {
    if (state === 'open') call?.liveOpened();
    else if (state === 'closed') call?.liveClosed();
  },
  onReconnect() {
    refresh();
    chat.reload();
  },
  onSignedOut: signInAgain,
});

if (!officer) {
  const clinician = await import('./clinician-panel.js');
  renderDetails = clinician.renderDetails;
  panel = clinician.setupClinician({ requestId, say, onFiled: (result) => apply(result.request) });
}
chat.reload();
refresh();
