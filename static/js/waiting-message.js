// A message from the console to the officer of a waiting request ("a clinician will be with
// you in about 5 minutes"): a short text or a quick preset, kept with the request's chat.
import { api } from './api.js';
import { $ } from './dom.js';

export class WaitingMessage {
  constructor() {
    this.requestId = null;
    const form = $('officer-message');
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.send();
    });
    form.addEventListener('click', (event) => {
      const preset = event.target.closest('[data-preset]');
      if (preset) $('officer-message-text').value = preset.dataset.preset;
    });
    $('officer-message-cancel').addEventListener('click', () => this.close());
  }

  /** Open the form for the waiting request `requestId` (`label` says which one). */
  open(requestId, label) {
    this.requestId = requestId;
    $('officer-message-for').textContent = label ? `(${label})` : '';
    this.status('');
    $('officer-message').hidden = false;
    $('officer-message-text').focus();
  }

  close() {
    this.requestId = null;
    $('officer-message').hidden = true;
  }

  status(text) {
    $('officer-message-status').textContent = text;
    $('officer-message-status').hidden = !text;
  }

  async send() {
    const text = $('officer-message-text').value.trim();
    if (!this.requestId || !text) return;
    try {
      await api('POST', `/api/v1/requests/${this.requestId}/messages`, { text });
      $('officer-message-text').value = '';
      this.status('Sent: the officer sees it on their waiting screen.');
    } catch (error) {
      this.status(error.status === 409 || error.status === 404
        ? 'This request no longer waits: it was taken or ended.'
        : `Could not send: ${error.message}`);
    }
  }
}
