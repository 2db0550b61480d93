// The clinician's side of a transfer on the session page: choose a colleague on duty, offer
// the call, wait (60 s at most) for their answer; once they take it, the call ends here.
import { api, changeOnce } from './api.js';
import { clock, el } from './labels.js';
import { $ } from './dom.js';

/** Wire the transfer card: the colleagues on duty, the offer and how it ended. */
export function setupTransfer({ requestId }) {
  let deadline = null;
  let offeredTo = '';

  function show(state, text) {
    $('transfer-state').dataset.state = state;
    $('transfer-state').textContent = text;
    $('transfer-state').hidden = !text;
    $('transfer-send').disabled = state === 'pending';
  }

  function tick() {
    if (deadline === null) return;
    const left = Math.max(0, (deadline - Date.now()) / 1000);
    show('pending', `Offered to ${offeredTo}: waiting for an answer (${clock(left)} left).`);
  }
  setInterval(tick, 1000);

  function pending(offer) {
    offeredTo = offer.offered_to.display_name;
    deadline = Date.parse(offer.expires_at);
    tick();
  }

  function ended(text) {
    deadline = null;
    show('ended', text);
  }

  async function loadColleagues() {
    try {
      const { colleagues } = await api('GET', `/api/v1/requests/${requestId}/transfer/colleagues`);
      const chosen = $('transfer-to').value;
      const options = colleagues.map((c) => el('option', { value: c.id }, `${c.display_name} (${c.team})`));
      $('transfer-to').replaceChildren(
        el('option', { value: '' }, colleagues.length ? '(choose a colleague)' : '(nobody on duty to transfer to)'),
        ...options);
      if (colleagues.some((c) => c.id === chosen)) $('transfer-to').value = chosen;
    } catch (error) {
      console.warn('transfer: colleagues not loaded', error);
    }
  }

  $('transfer-reload').addEventListener('click', loadColleagues);
  $('transfer-to').addEventListener('focus', loadColleagues, { once: true });
  $('transfer-send').addEventListener('click', async () => {
    const to = $('transfer-to').value;
    if (!to) {
      show('error', 'Choose a colleague first.');
      return;
    }
    try {
      const request = await changeOnce('POST', `/api/v1/requests/${requestId}/transfer`,
                                       { to, note: $('transfer-note').value.trim() });
      if (request.transfer) pending(request.transfer);
    } catch (error) {
      show('error', error.fields?.to || error.message);
      loadColleagues();
    }
  });
  loadColleagues();

  return {
    /** The request as just read: an offer still pending shows (after a reload). */
    showRequest(request) {
      if (request.transfer && deadline === null) pending(request.transfer);
    },
    /** A `transfer.*` message from the live channel about this request. */
    onMessage(message) {
      if (message.request_id !== requestId || message.type === 'transfer.offered') return;
      const name = message.offered_to?.display_name || 'The colleague';
      if (message.type === 'transfer.accepted') ended(`${name} has taken over the call.`);
      else if (message.type === 'transfer.declined') ended(`${name} declined; the call stays with you.`);
      else if (message.type === 'transfer.lapsed') ended(`${name} did not answer in time; the call stays with you.`);
      loadColleagues();
    },
  };
}
