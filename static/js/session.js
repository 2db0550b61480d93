// The session page for both roles: the call (it starts by itself), chat, and the outcome.
import { api } from './api.js';
import { Call } from './call.js';
import { setupCameraHelp } from './camera-help.js';
import { Chat } from './chat.js';
import { askFeedback } from './feedback.js';
import { answered, messaged } from './chime.js';
import { MODES, clock, el, label } from './labels.js';
import { Live } from './live.js';
import { Mesh } from './mesh.js';
import { signInAgain } from './resignin.js';
import { $ } from './dom.js';

const root = $('session');
const { requestId, role, userId } = root.dataset;
const officer = role === 'officer';
let call = null;
let mesh = null;  // the other connections when more than two are in the call
let mainPeer = null;  // the officer's clinician, or the clinician's officer
let mode = null;
let asked = null;  // the mode this user just picked, to tell their own switch from the peer's
let renderDetails = null;  // the clinician's details panel (loaded only for clinicians)
let panel = null;  // the clinician's side panel (tabs, unread chat)
let peoplePanel = null;  // the clinician's consultants and guests
let transfer = null;  // the clinician's transfer card
let acceptedAt = null;  // when the call began (ms), for the call timer
const ANSWER_CHIME_MS = 30000;  // a page opened this soon after the answer sounds it
const EMERGENCY = root.dataset.emergencyNumber;  // the board's own (999, 911, ...)

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
  emergency_services: `Emergency: call ${EMERGENCY} for emergency services now.`,
  not_completed: 'The assessment could not be completed.',
};
const CONVEYANCE = { police: 'by police', ambulance: 'by ambulance', other: 'by other transport' };

// What an officer the clinician has not released does next, by disposition: they stay with
// the person (an s297 removal is theirs to carry out; an ambulance may be on its way).
const STAY = {
  place_of_safety_s297: (o) => 'Stay with the person and take them to the place of safety'
    + (o.place_of_safety ? `: ${o.place_of_safety.name}, ${o.place_of_safety.address}` : '')
    + ' (s297). You remain responsible for them until they are handed over there.',
  emergency_department: (o) => ({
    police: 'Stay with the person and take them to the Emergency Department yourself.',
    ambulance: 'Stay with the person until the ambulance arrives and takes them to the Emergency Department.',
  }[o.conveyance] || 'Stay with the person until they are on their way to the Emergency Department.'),
  medical_examination_detention: () => 'Stay with the person until the doctor arrives to examine them (emergency or short-term detention).',
  informal_admission: () => 'Stay with the person until they are admitted or on their way to hospital as agreed.',
  criminal_justice: () => 'Continue with custody procedure; the clinician\'s advice is on record.',
  emergency_services: () => `Stay with the person: call ${EMERGENCY} for emergency services now.`,
  urgent_face_to_face: () => 'Stay with the person until the mental-health team arrives or the clinician tells you otherwise.',
  not_completed: () => 'Stay with the person: the assessment was not completed. Ask for a clinician again, or phone for advice.',
};
const STAY_OTHERWISE = 'Stay with the person: the clinician has not said that you can leave. Ask them in the chat if you are unsure.';

/** The officer's release line: "You can leave now" only when the clinician released them. */
function showRelease(outcome) {
  const line = $('officer-release');
  const released = outcome.officer_released_at;
  line.dataset.released = String(Boolean(released));
  line.classList.toggle('released', Boolean(released));
  line.classList.toggle('stay', !released);
  line.textContent = released
    ? `You can leave now: the clinician released you at ${new Date(released).toLocaleTimeString([], { timeStyle: 'short' })}.`
    : (STAY[outcome.disposition]?.(outcome) || STAY_OTHERWISE);
}

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

// What a screen reader hears when the call's state changes: the change, once.
let wasConnected = false;
let lost = false;
function announceState(state) {
  const other = officer ? 'the clinician' : 'the officer';
  if (state === 'connected') {
    if (lost || !wasConnected) announce(lost ? 'Reconnected.' : `Connected to ${other}.`);
    wasConnected = true;
    lost = false;
  } else if (wasConnected && !lost && !call?.ended && isLost(state)) {
    lost = true;
    announce('Connection lost; reconnecting.');
  }
}

// Lost: the media path broke, or (text chat) the live channel did; not a call ended on
// purpose, nor a new media path starting after a change of call type.
const isLost = (state) => state === 'disconnected' || state === 'failed'
  || (state === 'connecting' && mode === 'text');

function announce(text) {
  $('call-announcer').textContent = text;
}

function showState(state) {
  if (state !== root.dataset.state) announceState(state);
  mesh?.mainState(state);
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
  if (mode && next !== mode) announce(`The call is now ${label(MODES, next).toLowerCase()}.`);
  mode = next;
  asked = null;
  cameraHelp.granted(next);
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

const cameraHelp = setupCameraHelp((wanted) => {
  asked = wanted;
  call?.switchMode(wanted);
});

function startCall(requestMode) {
  call = new Call({
    requestId, polite: officer, mode: requestMode, transport: (message) => live.send(message),
    localVideo: $('local-video'), remoteVideo: $('remote-video'),
    hooks: { onState: showState, onMode: showMode, onNotice: notice, onSample: showRoute,
             onLinkDown: () => live.probe(),
             onRecovered: () => notice('The connection is better now: press Video to try video again.'),
             onAutoplayBlocked: () => { $('play-remote').hidden = false; },
             onRefused: (wanted, got) => cameraHelp.refused(wanted, got) },
  });
  const ready = call.start();
  mesh = new Mesh({ requestId, me: userId, list: $('participants'), media: call.media, ready,
                    mode: requestMode, transport: (message) => live.send(message),
                    onUnknown: () => readPeople() });
  if (live.isOpen) {
    call.liveOpened();
    mesh.liveOpened();
  }
  readPeople();
}

/** Who is in the call (Redis holds it): a consultant or guest joining or leaving. */
async function readPeople() {
  if (!mesh) return;
  try {
    const { people, status } = await api('GET', `/api/v1/requests/${requestId}/participants`);
    if (status === 'in_session') {
      mesh.update(people, mainPeer);
      peoplePanel?.show(people);
    }
  } catch (error) {
    console.warn('session: participants not read; the next change reads them', error);
  }
}

for (const button of document.querySelectorAll('[data-mode]')) {
  button.addEventListener('click', () => {
    if (!call || button.dataset.mode === mode) return;
    asked = button.dataset.mode;
    notice('');
    call.switchMode(asked);
    mesh?.switchMode(asked);
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
  mesh?.resync();
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
  mesh?.switchMode('text');
  notice('You hung up. The chat stays open.');
});
$('play-remote').addEventListener('click', () => {
  $('play-remote').hidden = true;
  call?.playRemote();
});

// ---- the request's state ------------------------------------------------------------------

function showPeople(request) {
  const other = officer ? request.clinician : request.officer;
  const before = root.dataset.peerId;
  if (other?.id) root.dataset.peerId = other.id;
  if (officer && before && other?.id && other.id !== before) {
    notice(`You are now talking to ${other.display_name}: the call goes on with them.`);
  }
  if (other?.display_name) $('peer-name').textContent = other.display_name;
  mainPeer = other?.id || null;
  acceptedAt = request.accepted_at ? Date.parse(request.accepted_at) : null;
  tickTimer();
}

function tickTimer() {
  if (acceptedAt === null || root.classList.contains('ended')) return;
  $('call-timer').textContent = clock((Date.now() - acceptedAt) / 1000);
}
setInterval(tickTimer, 1000);

function showOutcome(outcome) {
  const meaning = document.querySelector(`#triage-meaning [data-code="${outcome.triage_code}"]`);
  $('outcome-code').textContent = outcome.triage_code;
  $('outcome-meaning').textContent = meaning?.textContent || '';
  $('outcome-advice').textContent = outcome.advice_to_officer
    || 'The clinician gave no further advice.';
  $('outcome-disposition').textContent = NEXT_STEPS[outcome.disposition] || '';
  $('outcome-conveyance').textContent = CONVEYANCE[outcome.conveyance]
    ? `Transport: ${CONVEYANCE[outcome.conveyance]}.` : '';
  showRelease(outcome);
  $('officer-outcome').hidden = false;
  $('officer-outcome').scrollIntoView({ block: 'start' });
  $('outcome-title').focus({ preventScroll: true });
}

/** What the clinician must act on now although the outcome was filed (a team nobody staffs). */
function showWarnings(warnings) {
  if (!warnings?.length) return;
  const items = warnings.map((w) => el('li', {}, w.message, ' ',
    w.phone ? el('a', { href: `tel:${w.phone.replace(/\s+/g, '')}`, class: 'phone' }, `Phone ${w.phone}`)
      : null));
  $('session-status').append(el('div', { class: 'warning', role: 'alert', 'aria-label': 'Act now',
                                         'data-testid': 'outcome-warnings' }, el('ul', {}, ...items)));
  $('session-status').hidden = false;
}

function finished(request) {
  call?.end();
  mesh?.end();
  root.classList.add('ended');
  chat.close('The session has ended.');
  if (officer && request.outcome) {
    showOutcome(request.outcome);
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

/** A colleague took the call over (a transfer): it ends here; the record stays readable. */
function handedOver(request) {
  if (root.classList.contains('ended')) return;
  call?.end();
  mesh?.end();
  root.classList.add('ended', 'handed-over');
  chat.close(`${request.clinician.display_name} has taken over this call.`);
  $('session-status').replaceChildren(
    el('p', { 'data-testid': 'handed-over' }, `${request.clinician.display_name} has taken over `
       + 'the call and the record. ', el('a', { href: '/console' }, 'Back to the console')));
  $('session-status').hidden = false;
}

function apply(request) {
  if (!officer && request.status === 'in_session' && request.clinician?.id !== userId) {
    handedOver(request);
    return;
  }
  if (!officer) renderDetails?.(request);
  transfer?.showRequest(request);
  showPeople(request);
  if (request.status === 'in_session') {
    if (!call && officer && Date.now() - (acceptedAt ?? 0) < ANSWER_CHIME_MS) answered();
    if (!call) startCall(request.mode);
  } else if (request.status === 'completed') {
    finished(request);
  } else if (request.status === 'waiting') {
    call?.end();
    mesh?.end();
    chat.close('Back in the queue.');
    say(officer ? 'The clinician handed your request back to the queue; you keep your place.'
                : 'This request is back in the queue.');
    setTimeout(() => { location.href = officer ? '/officer' : '/console'; }, 2500);
  } else {
    call?.end();
    mesh?.end();
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
    if (message.request_id !== requestId && message.request?.id !== requestId) return;
    if (message.type === 'signal' && message.peer) mesh?.signal(message.peer, message.data);
    else if (message.type === 'signal') call?.signal(message.data);
    else if (message.type === 'participants.changed') readPeople();
    else if (message.type === 'chat.message' && message.request_id === requestId) {
      if (chat.add(message.message)) {
        if (officer) messaged();
        else panel?.unread();
      }
    } else if (message.type === 'request.updated' && message.request?.id === requestId) refresh();
    else if (message.type?.startsWith('transfer.') && message.request_id === requestId) {
      transfer?.onMessage(message);
      if (message.type === 'transfer.accepted') refresh();
    }
  },
  onState(state) {
    if (state === 'open') {
      call?.liveOpened();
      mesh?.liveOpened();
    } else if (state === 'closed') {
      call?.liveClosed();
      mesh?.liveClosed();
    }
  },
  onReconnect() {
    refresh();
    readPeople();
    chat.reload();
  },
  onSignedOut: signInAgain,
});

if (!officer) {
  const { PeoplePanel } = await import('./people-panel.js');
  peoplePanel = new PeoplePanel({ requestId });
  const clinician = await import('./clinician-panel.js');
  renderDetails = clinician.renderDetails;
  panel = clinician.setupClinician({ requestId, say, onFiled: (result) => {
    apply(result.request);
    showWarnings(result.warnings);
  } });
  transfer = (await import('./transfer.js')).setupTransfer({ requestId });
}
chat.reload();
refresh();
