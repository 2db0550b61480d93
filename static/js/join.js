// The call page of a consultant (a colleague asked to join) or a guest (by link): the call
// with everyone in it and the chat, nothing of the record. Every other person is one
// connection of the mesh (static/js/mesh.js).
import { api } from './api.js';
import { Chat } from './chat.js';
import { MODES, label } from './labels.js';
import { Live } from './live.js';
import { LocalMedia } from './media.js';
import { Mesh } from './mesh.js';
import { $ } from './dom.js';

const root = $('join');
const { requestId, me, kind, base, ws, ice } = root.dataset;
let ended = false;

function notice(text) {
  $('call-notice').textContent = text || '';
  $('call-notice').hidden = !text;
}

function showMode(mode) {
  $('call-mode').textContent = mode;
  root.classList.remove('mode-starting', 'mode-video', 'mode-audio', 'mode-text');
  root.classList.add(`mode-${mode}`);
  for (const button of document.querySelectorAll('[data-mode]')) {
    button.setAttribute('aria-pressed', String(button.dataset.mode === mode));
  }
}

/** The page's connection state: connected once every other person's connection is. */
function showState() {
  const states = Object.entries(mesh.states()).filter(([id]) => id !== me).map(([, s]) => s);
  let state = 'connecting';
  if (ended) state = 'disconnected';
  else if (states.length && states.every((s) => s === 'connected')) state = 'connected';
  else if (states.some((s) => s === 'failed')) state = 'failed';
  $('connection-state').textContent = state;
  root.dataset.state = state;
  $('stage-note').hidden = state === 'connected';
  $('stage-note').textContent = state === 'connected' ? '' : 'Connecting to everyone in the call…';
}

const media = new LocalMedia(notice);
const ready = media.acquire('video').then((mode) => {
  $('local-video').srcObject = mode === 'video' ? media.stream : null;
  showMode(mode);
  return mode;
});
const mesh = new Mesh({ requestId, me, list: $('participants'), media, ready, mode: 'video',
                        icePath: ice, transport: (message) => live.send(message),
                        onUnknown: () => readPeople() });
new MutationObserver(showState).observe($('participants'), { subtree: true, attributes: true,
                                                            attributeFilter: ['data-state'] });
const chat = new Chat({ requestId, me, log: $('chat-log'), form: $('chat-form'),
                        input: $('chat-input'), error: $('chat-error'), path: `${base}/messages` });

function finish(text) {
  if (ended) return;
  ended = true;
  mesh.end();
  media.stop();
  chat.close(text);
  live.close();
  $('session-status').textContent = text;
  $('session-status').hidden = false;
  root.classList.add('ended');
  showState();
}

async function readPeople() {
  if (ended) return;
  try {
    const { people, status } = await api('GET', `${base}/participants`);
    if (status !== 'in_session' || !people.some((p) => p.id === me)) {
      finish('The call has ended for you. Thank you for taking part.');
    } else mesh.update(people);
  } catch (error) {
    if (error.status === 404 || error.status === 401) finish('The call has ended for you.');
    else console.warn('join: participants not read', error);
  }
}

const live = new Live({
  onMessage(message) {
    if (message.request_id !== requestId && message.request?.id !== requestId) return;
    if (message.type === 'signal' && message.peer) mesh.signal(message.peer, message.data);
    else if (message.type === 'chat.message') chat.add(message.message);
    else if (['participants.changed', 'request.updated'].includes(message.type)) readPeople();
  },
  onState(state) {
    if (state === 'open') mesh.liveOpened();
    else if (state === 'closed') mesh.liveClosed();
  },
  onReconnect() {
    readPeople();
    chat.reload();
  },
  onSignedOut() { finish('The call has ended for you.'); },
}, { path: ws, mePath: `${base}/participants` });

for (const button of document.querySelectorAll('[data-mode]')) {
  button.addEventListener('click', () => {
    notice(`The call is now ${label(MODES, button.dataset.mode).toLowerCase()} for you.`);
    showMode(button.dataset.mode);
    mesh.switchMode(button.dataset.mode);
  });
}
$('mute').addEventListener('click', () => {
  const track = media.track('audio');
  if (!track) return;
  track.enabled = !track.enabled;
  $('mute').setAttribute('aria-pressed', String(!track.enabled));
  $('mute').textContent = track.enabled ? 'Mute' : 'Unmute';
});
$('leave').addEventListener('click', async () => {
  try {
    await api(kind === 'guest' ? 'POST' : 'DELETE',
              kind === 'guest' ? `${base}/leave` : `${base}/consult/${me}`);
  } catch (error) {
    console.warn('join: leaving', error);
  }
  finish('You left the call.');
});

chat.reload();
readPeople();
