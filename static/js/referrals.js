// The console's follow-up referrals (those this clinician made): due times, overdue
// highlighted, what the receiving team did and when, status updates.
import { api } from './api.js';
import { REFERRAL_STATUSES, SERVICES, el, label, relativeDue, when } from './labels.js';

const NEXT_STATUSES = ['accepted', 'completed', 'did_not_attend', 'cancelled'];
// An s298 notification is sent to the Mental Welfare Commission, or not: nobody attends it.
const NOTICE_STATUSES = ['completed', 'cancelled'];
const NOTICE_LABELS = { pending: 'Not sent', accepted: 'Not sent', completed: 'Sent',
                        cancelled: 'Cancelled' };
const NOTICE_CHOICES = { completed: 'Sent', cancelled: 'Cancelled' };
const isNotice = (referral) => referral.kind === 'mwc_notification';
const statusText = (referral) => (isNotice(referral)
  ? NOTICE_LABELS[referral.status] || referral.status : label(REFERRAL_STATUSES, referral.status));

export class Referrals {
  constructor({ list, empty, scope, message }) {
    Object.assign(this, { list, empty, scope, message });
    scope.addEventListener('change', () => this.load());
    list.addEventListener('submit', (event) => {
      event.preventDefault();
      this.update(event.target);
    });
    setInterval(() => this.load(), 60000);
  }

  say(text) {
    this.message.textContent = text || '';
    this.message.hidden = !text;
  }

  async load() {
    try {
      const { referrals } = await api('GET', `/api/v1/referrals?status=${this.scope.value}&mine=true`);
      this.list.replaceChildren(...referrals.map((r) => this.item(r)));
      this.empty.hidden = referrals.length > 0;
    } catch (error) {
      this.say(`Could not load referrals: ${error.message}`);
    }
  }

  item(referral) {
    const open = referral.status === 'pending' || referral.status === 'accepted';
    const due = el('p', { class: 'due' }, `Due ${when(referral.due_at)}`,
                   open ? ` (${relativeDue(referral.due_at)})` : '');
    const details = [referral.area?.name, referral.team && `Team: ${referral.team}`,
                     referral.contact && `Contact: ${referral.contact}`,
                     referral.note && `Note: ${referral.note}`].filter(Boolean).join(' · ');
    const history = ['accepted', 'declined', 'completed', 'did_not_attend', 'cancelled']
      .filter((s) => referral[`${s}_at`])
      .map((s) => `${label(REFERRAL_STATUSES, s)} ${when(referral[`${s}_at`])}`).join(' · ');
    const links = referral.kind === 'mwc_notification'
      ? el('a', { href: `/api/v1/referrals/${referral.id}/s298-notice`, target: '_blank',
                  rel: 'noopener', 'data-testid': 's298-notice-link' }, 'Printable s298 notice')
      : el('a', { href: `/api/v1/requests/${referral.request_id}/handover`, target: '_blank',
                  rel: 'noopener', 'data-testid': 'handover-link' }, 'Printable handover');
    return el('li', { class: `referral${referral.overdue ? ' overdue' : ''}`,
                      'data-testid': 'referral-item', dataset: { referralId: referral.id } },
      el('div', { class: 'row' },
         el('strong', {}, isNotice(referral) ? 's298 notice to the Mental Welfare Commission'
                          : label(SERVICES, referral.service)),
         el('span', { class: 'badge' }, referral.urgency),
         el('span', { class: `status status-${referral.status}`, 'data-testid': 'referral-status' },
            statusText(referral)),
         referral.overdue ? el('span', { class: 'badge p1' }, 'Overdue') : null),
      due,
      details ? el('p', { class: 'muted small' }, details) : null,
      history ? el('p', { class: 'small', 'data-testid': 'referral-history' }, history) : null,
      el('p', { class: 'small' }, links),
      open ? this.form(referral) : null);
  }

  form(referral) {
    const notice = isNotice(referral);
    const choices = (notice ? NOTICE_STATUSES : NEXT_STATUSES).filter((s) => s !== referral.status)
      .map((s) => el('option', { value: s },
                     notice ? NOTICE_CHOICES[s] : label(REFERRAL_STATUSES, s)));
    return el('form', { class: 'referral-update', dataset: { referralId: referral.id } },
      el('select', { name: 'status', 'aria-label': 'New status' }, ...choices),
      el('input', { name: 'note', placeholder: 'Note (optional)', maxlength: '1000',
                    'aria-label': 'Note' }),
      el('button', { type: 'submit' }, 'Update'));
  }

  async update(form) {
    const body = { status: form.elements.status.value };
    const note = form.elements.note.value.trim();
    if (note) body.note = note;
    try {
      await api('PATCH', `/api/v1/referrals/${form.dataset.referralId}`, body);
      this.say('');
    } catch (error) {
      this.say(error.status === 409 ? 'That referral was already closed.'
                                    : `Could not update: ${error.message}`);
    }
    await this.load();
  }
}
