// The supervisor's list of open requests: waiting ones from GET /api/v1/queue, then kept up
// to date (waiting → in session → gone) by the live `request.*` events.
import { api } from './api.js';
import { MODES, URGENCIES, clock, el, label } from './labels.js';

const OPEN = ['waiting', 'in_session'];
const STATUS = { waiting: 'Waiting', in_session: 'In session' };

export class OpenRequests {
  constructor({ list, empty }) {
    Object.assign(this, { list, empty });
    this.items = new Map();
    this.fetchedAt = Date.now();
    setInterval(() => this.tick(), 1000);
  }

  async load() {
    try {
      const { waiting } = await api('GET', '/api/v1/queue');
      const sessions = [...this.items.values()].filter((item) => item.status === 'in_session');
      this.items = new Map([...waiting.map((item) => [item.id, { ...item, status: 'waiting' }]),
                            ...sessions.map((item) => [item.id, item])]);
      this.fetchedAt = Date.now();
      this.render();
    } catch (error) {
      console.warn('open requests: not reloaded; the next reconnect reloads them', error);
    }
  }

  /** A `request.created` / `request.updated` summary. */
  update(request) {
    if (!request?.id) return;
    if (OPEN.includes(request.status)) {
      const known = this.items.get(request.id);
      const waited = request.waited_s + (Date.now() - this.fetchedAt) / 1000;
      this.items.set(request.id, { ...known, ...request, waited_s: known ? known.waited_s : waited });
    } else this.items.delete(request.id);
    this.render();
  }

  render() {
    const rows = [...this.items.values()].sort((a, b) => (a.status === b.status
      ? a.priority - b.priority || a.created_at.localeCompare(b.created_at)
      : a.status === 'waiting' ? -1 : 1));
    this.list.replaceChildren(...rows.map((item) => el('li', {
      class: `open-request priority-${item.priority}`, 'data-testid': 'sup-request',
      dataset: { requestId: item.id, status: item.status } },
      el('span', { class: `badge p${item.priority}` }, `P${item.priority}`),
      el('a', { href: `/supervisor/requests/${item.id}`, 'data-testid': 'sup-request-link' },
         `Request ${item.id.slice(0, 8)}`),
      el('span', {}, `${STATUS[item.status]} · ${label(URGENCIES, item.urgency)} · `
                     + `${label(MODES, item.mode)}${item.area ? ` · ${item.area}` : ''}`),
      el('span', { class: 'waited muted' }))));
    this.empty.hidden = rows.length > 0;
    this.tick();
  }

  tick() {
    const since = (Date.now() - this.fetchedAt) / 1000;
    for (const li of this.list.children) {
      const item = this.items.get(li.dataset.requestId);
      if (item?.status === 'waiting') {
        li.querySelector('.waited').textContent = `waited ${clock(item.waited_s + since)}`;
      }
    }
  }
}
