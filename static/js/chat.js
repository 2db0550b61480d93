// The chat of a request: sent and re-read over REST, pushed live by `chat.message`.
// It works whether or not the WebRTC call ever connects.
import { api } from './api.js';
import { el } from './labels.js';

export class Chat {
  /** `path`: where the chat is read and sent (a guest's page has its own). */
  constructor({ requestId, me, log, form, input, error, path = null }) {
    Object.assign(this, { requestId, me, log, form, input, error });
    this.path = path || `/api/v1/requests/${requestId}/messages`;
    this.seen = new Set();
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.send();
    });
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey) {
        event.preventDefault();
        this.send();
      }
    });
  }

  async reload() {
    try {
      const { messages } = await api('GET', this.path);
      for (const message of messages) this.add(message);
    } catch (error) {
      console.warn('chat: not reloaded; the next reconnect re-reads it', error);
    }
  }

  /** Show a message (once); returns true if it is new and from someone else. */
  add(message) {
    if (this.seen.has(message.id)) return false;
    this.seen.add(message.id);
    const { author } = message;
    const kind = author.role === 'system' ? 'system' : author.id === this.me ? 'mine' : 'theirs';
    const time = new Date(message.created_at).toLocaleTimeString([], { timeStyle: 'short' });
    const item = el('li', { class: `message ${kind}`, 'data-testid': 'chat-message',
                            dataset: { at: message.created_at } },
      el('span', { class: 'who' }, `${kind === 'mine' ? 'You' : author.display_name} · ${time}`),
      el('p', { class: 'text' }, message.text));
    const later = [...this.log.children].find((li) => li.dataset.at > message.created_at);
    this.log.insertBefore(item, later || null);
    this.log.scrollTop = this.log.scrollHeight;
    return kind === 'theirs';
  }

  async send() {
    const text = this.input.value.trim();
    if (!text) return;
    this.error.hidden = true;
    try {
      this.add(await api('POST', this.path, { text }));
      this.input.value = '';
    } catch (error) {
      this.error.textContent = error.status ? `Not sent: ${error.message}`
        : 'Not sent: no connection. Press Send again.';
      this.error.hidden = false;
    }
    this.input.focus();
  }

  close(reason) {
    this.input.disabled = true;
    this.form.querySelector('button').disabled = true;
    this.input.placeholder = reason;
  }
}
