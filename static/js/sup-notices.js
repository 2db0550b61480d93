// The supervisor's s298 notices: every removal to a place of safety whose notice to the Mental
// Welfare Commission is open or was sent, with its due time, sent or not, and the printable
// notice (supervisors only: admins do not read it).
import { api } from './api.js';
import { el, when } from './labels.js';

const list = document.getElementById('s298-notices');
const empty = document.getElementById('s298-none');

function item(notice) {
  const sent = notice.status === 'completed';
  return el('li', { class: `notice-record${notice.overdue ? ' overdue' : ''}`,
                    'data-testid': 's298-notice-item', dataset: { referralId: notice.id } },
    el('strong', { 'data-testid': 's298-notice-status', dataset: { sent: String(sent) } },
       sent ? 'Sent' : notice.status === 'cancelled' ? 'Cancelled' : 'Not sent'),
    ` · due ${when(notice.due_at)}`, notice.overdue ? ' (overdue)' : '',
    notice.area ? ` · ${notice.area.name}` : '', ' ',
    el('a', { href: `/api/v1/referrals/${notice.id}/s298-notice`, target: '_blank',
              rel: 'noopener', 'data-testid': 's298-notice-link' }, 'Printable s298 notice'));
}

/** Read the notices again (open first, then the latest sent). */
export async function loadNotices() {
  if (!list) return;
  try {
    const { referrals } = await api('GET', '/api/v1/referrals?status=all');
    const notices = referrals.filter((r) => r.kind === 'mwc_notification')
      .sort((a, b) => Number(a.status === 'completed') - Number(b.status === 'completed')
                      || Date.parse(a.due_at) - Date.parse(b.due_at));
    list.replaceChildren(...notices.slice(0, 50).map(item));
    empty.hidden = notices.length > 0;
  } catch (error) {
    empty.textContent = `Could not load the s298 notices: ${error.message}`;
    empty.hidden = false;
  }
}
