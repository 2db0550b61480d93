// The clinician's "People" panel: ask a colleague on duty to consult, make and revoke guest
// links, and take a consultant or a guest out of the call.
import { api } from './api.js';
import { el } from './labels.js';
import { $ } from './dom.js';

export class PeoplePanel {
  constructor({ requestId }) {
    this.requestId = requestId;
    this.base = `/api/v1/requests/${requestId}`;
    this.links = new Map();  // guest id -> name, for links made here and not yet used
    this.people = [];
    $('consult-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.consult();
    });
    $('guest-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.invite();
    });
    document.querySelector('[data-panel="people-card"]')
      ?.addEventListener('click', () => this.loadColleagues());
    this.loadColleagues();
  }

  /** Who is in the call now (from the session page's participants read). */
  show(people) {
    this.people = people;
    for (const person of people) this.links.delete(person.id);
    const extra = people.filter((p) => ['consultant', 'guest'].includes(p.role))
      .map((p) => this.item(p.id, p.display_name, p.role, 'Remove'));
    const pending = [...this.links].map(([id, name]) => this.item(id, name, 'guest', 'Revoke link',
                                                                     ' (link not used yet)'));
    $('people-extra').replaceChildren(...extra, ...pending);
  }

  item(id, name, role, action, note = '') {
    const button = el('button', { type: 'button', 'data-testid': 'people-remove' }, action);
    button.addEventListener('click', () => this.remove(id, role));
    return el('li', { dataset: { participantId: id, role } },
      `${name} · ${role === 'guest' ? 'guest' : 'consultant'}${note} `, button);
  }

  async loadColleagues() {
    try {
      const { colleagues } = await api('GET', `${this.base}/colleagues`);
      const options = colleagues.map((c) => el('option', { value: c.id }, c.display_name));
      if (!options.length) options.push(el('option', { value: '' }, 'Nobody else is on duty'));
      $('consult-colleague').replaceChildren(...options);
    } catch (error) {
      console.warn('people: colleagues not read', error);
    }
  }

  async consult() {
    const to = $('consult-colleague').value;
    if (!to) return;
    await this.change(() => api('POST', `${this.base}/consult`, { to }));
    this.loadColleagues();
  }

  async invite() {
    const displayName = $('guest-name').value.trim();
    const link = await this.change(() => api('POST', `${this.base}/guests`, {
      display_name: displayName, role: $('guest-role').value,
    }));
    if (!link) return;
    this.links.set(link.id, displayName);
    $('guest-link').value = link.url;
    $('guest-link-box').hidden = false;
    $('guest-name').value = '';
    this.show(this.people);
  }

  async remove(id, role) {
    const path = role === 'guest' ? `${this.base}/guests/${id}` : `${this.base}/consult/${id}`;
    await this.change(() => api('DELETE', path));
    this.links.delete(id);
    this.show(this.people.filter((p) => p.id !== id));
  }

  async change(step) {
    $('people-error').hidden = true;
    try {
      return await step();
    } catch (error) {
      $('people-error').textContent = error.message;
      $('people-error').hidden = false;
      return null;
    }
  }
}
