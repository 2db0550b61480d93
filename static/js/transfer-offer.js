// The colleague's side of a transfer, on the console: each offer shows with who asks, the
// request's summary, their note and a 60-second countdown, with a tone; accepting opens the
// session, where the call goes on with the officer.
import { api, changeOnce } from './api.js';
import { CONCERNS, URGENCIES, clock, el, label } from './labels.js';
import { playTones } from './tone.js';
import { $ } from './dom.js';

export class TransferOffers {
  constructor() {
    this.offers = new Map();  // request id → {offer, item}
    $('transfer-offer-list').addEventListener('click', (event) => this.clicked(event));
    setInterval(() => this.tick(), 1000);
  }

  /** Show the offers still waiting for an answer (the page opened or reconnected). */
  async load() {
    try {
      const { offers } = await api('GET', '/api/v1/transfers');
      const open = new Set(offers.map((offer) => offer.request_id));
      for (const id of this.offers.keys()) if (!open.has(id)) this.remove(id);
      for (const offer of offers) this.show(offer, false);
    } catch (error) {
      console.warn('transfer: offers not loaded', error);
    }
  }

  /** A `transfer.*` message from the live channel. */
  onMessage(message) {
    if (message.type === 'transfer.offered') this.show(message, true);
    else if (this.offers.has(message.request_id)) {
      this.remove(message.request_id);
      if (message.type === 'transfer.lapsed') this.say('An offer to take over a call lapsed.');
    }
  }

  /** A request's summary changed: an offer of a call that is no longer in progress (handed
   *  back, filed) is gone. */
  requestChanged(request) {
    if (!this.offers.has(request.id) || request.status === 'in_session') return;
    this.remove(request.id);
    this.say('A call offered to you ended before you answered.');
  }

  show(offer, sound) {
    if (this.offers.has(offer.request_id)) return;
    const r = offer.request;
    const summary = [`P${r.priority} ${label(URGENCIES, r.urgency)}`, r.place || r.area,
                     (r.concerns || []).map((c) => label(CONCERNS, c)).join(', ')].filter(Boolean).join(' · ');
    const item = el('li', { class: 'transfer-offer', 'data-testid': 'transfer-offer',
                            dataset: { requestId: offer.request_id } },
      el('p', {}, el('strong', {}, offer.offered_by.display_name), ' asks you to take over a call in progress.'),
      el('p', { class: 'muted small' }, summary),
      offer.note ? el('p', { class: 'note', 'data-testid': 'transfer-offer-note' }, `“${offer.note}”`) : null,
      el('p', { class: 'small' }, 'Answer within ',
         el('span', { 'data-testid': 'transfer-countdown', class: 'countdown' }), '.'),
      el('button', { type: 'button', class: 'primary', 'data-testid': 'transfer-accept',
                     dataset: { action: 'accept' } }, 'Accept and join the call'),
      ' ',
      el('button', { type: 'button', 'data-testid': 'transfer-decline',
                     dataset: { action: 'decline' } }, 'Decline'));
    this.offers.set(offer.request_id, { offer, item, deadline: Date.parse(offer.expires_at) });
    $('transfer-offer-list').append(item);
    $('transfer-offers').hidden = false;
    this.tick();
    if (sound) playTones([660, 880, 660, 880]);
    item.querySelector('button').focus();
  }

  remove(requestId) {
    this.offers.get(requestId)?.item.remove();
    this.offers.delete(requestId);
    $('transfer-offers').hidden = this.offers.size === 0 && $('transfer-offer-message').hidden;
  }

  say(text) {
    $('transfer-offer-message').textContent = text;
    $('transfer-offer-message').hidden = !text;
    $('transfer-offers').hidden = this.offers.size === 0 && !text;
  }

  tick() {
    for (const [id, { item, deadline }] of this.offers) {
      const left = (deadline - Date.now()) / 1000;
      if (left <= 0) this.remove(id);
      else item.querySelector('.countdown').textContent = clock(left);
    }
  }

  async clicked(event) {
    const button = event.target.closest('button[data-action]');
    if (!button) return;
    const requestId = button.closest('li').dataset.requestId;
    for (const b of button.closest('li').querySelectorAll('button')) b.disabled = true;
    try {
      // One key for the answer and its retries: a lost answer to an accept that went through
      // is answered again with the call, not with 404.
      await changeOnce('POST', `/api/v1/requests/${requestId}/transfer/${button.dataset.action}`);
      if (button.dataset.action === 'accept') {
        location.href = `/session/${requestId}`;
        return;
      }
      this.remove(requestId);
    } catch (error) {
      this.remove(requestId);
      this.say(error.status === 404 || error.code === 'offer_lapsed'
        ? 'That offer has lapsed or was withdrawn.' : `Could not answer: ${error.message}`);
    }
  }
}
