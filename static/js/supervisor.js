// The supervisor's dashboard: the live figures arrive over /ws as `stats` every few seconds;
// the 30-day pictures (service-level trend; the upstream view of a board: demand heat map,
// detentions and ED conveyances by area) are re-read every five minutes.
import { api } from './api.js';
import { DISPOSITIONS, clock, el } from './labels.js';
import { Live } from './live.js';
import { alarmMessage, loadAlarms } from './sup-alarms.js';
import { barList, heatMap, heatTable, serviceLevelChart, waitChart } from './sup-charts.js';
import { loadNotices } from './sup-notices.js';
import { OpenRequests } from './sup-requests.js';
import { announce } from './sup-announce.js';
import { $ } from './dom.js';

const MONTH_EVERY_MS = 5 * 60 * 1000;

const dashboard = document.getElementById('dashboard');
const thresholdS = Number(dashboard.dataset.thresholdS);

function setText(id, value) {
  const node = $(id);
  const textValue = String(value);
  if (node.textContent !== textValue) node.textContent = textValue;
}

const pct = (value) => (value === null || value === undefined ? '–' : `${value}%`);
const seconds = (value) => (value === null || value === undefined ? '–' : clock(value));

function renderTiles(stats) {
  const { queue, clinicians, referrals, window: day } = stats;
  setText('sup-waiting', queue.waiting);
  for (const node of $('sup-waiting-by-priority').querySelectorAll('[data-priority]')) {
    node.textContent = queue.by_priority[node.dataset.priority] ?? 0;
  }
  setText('sup-longest-wait', queue.waiting ? clock(queue.longest_wait_s) : '–');
  setText('sup-in-session', queue.in_session);
  setText('sup-clinicians-available', clinicians.available);
  setText('sup-clinicians-busy', clinicians.busy);
  setText('sup-clinicians-offline', clinicians.offline);
  const level = day.service_level.today_pct ?? day.service_level.pct;
  setText('sup-service-level', pct(level));
  $('sup-service-level').classList.toggle('bad', level !== null && level < 90);
  setText('sup-overdue-referrals', referrals.overdue);
  $('sup-overdue-referrals').classList.toggle('bad', referrals.overdue > 0);
  setText('sup-open-referrals', referrals.open);
  $('sup-longest-wait').classList.toggle('bad', queue.escalated > 0);
}

// The live conditions that are no alarm record of their own (the records list above has
// the long waits and s298 notices): everyone on duty is busy with someone waiting.
const RIGHT_NOW = new Set(['no_clinician_available']);

let rightNow = '';

/** Redrawn only when it changes (the figures arrive every 2 s), and a new condition is
 * announced once. */
function renderAlarms(alarms) {
  const shown = alarms.filter((alarm) => RIGHT_NOW.has(alarm.kind));
  const key = shown.map((alarm) => `${alarm.kind}:${alarm.message}`).join('|');
  if (key === rightNow) return;
  const before = rightNow;
  rightNow = key;
  $('sup-alarms').replaceChildren(...shown.map((alarm) => el('li', {
    class: `alarm ${alarm.kind}`, dataset: { kind: alarm.kind } },
  el('strong', {}, 'Right now: '), alarm.message)));
  for (const alarm of shown) {
    if (!before.includes(`${alarm.kind}:`)) announce(`Right now: ${alarm.message}`);
  }
}

function renderFigures(day) {
  const rows = [
    ['Requests', day.requests], ['Answered', `${day.accepted} (${pct(day.answered_pct)})`],
    ['Median wait', seconds(day.wait_s.p50)], ['90% answered within', seconds(day.wait_s.p90)],
    ['Median assessment', seconds(day.assessment_s.p50)],
    ['Mean police time', seconds(day.police_s.mean)],
    ['Abandoned', day.abandoned], ['Expired', day.expired],
    ['Resolved on scene', day.resolved_on_scene],
    ['No ED or ambulance needed', day.conveyance_avoided],
    ['Detentions', day.detentions.total],
    ['Referrals on time', `${day.referrals.completed_on_time} of ${day.referrals.due} due`
      + ` (${day.referrals.made} made)`],
    ['Median referral completion', seconds(day.referrals.completion_s?.p50)],
    ['Officer rating (1–5)', day.feedback.count
      ? `${day.feedback.mean_useful} from ${day.feedback.count}` : 'none yet'],
  ];
  $('sup-figures').replaceChildren(...rows.map(([name, value]) => el('div', {},
    el('dt', {}, name), el('dd', {}, String(value)))));
}

function renderDay(stats) {
  renderTiles(stats);
  renderAlarms(stats.alarms);
  renderFigures(stats.window);
  waitChart($('sup-chart-waits'), stats.window.series?.points ?? [], thresholdS);
  barList($('sup-chart-dispositions'), Object.entries(stats.window.dispositions)
    .map(([code, n]) => [DISPOSITIONS[code] || code, n]), 'No outcomes in the last 24 hours.');
  setText('sup-updated', `Updated ${new Date(stats.generated_at).toLocaleTimeString()}`);
}

function renderMonth(stats) {
  serviceLevelChart($('sup-chart-service-level'), stats.window.series?.points ?? []);
}

let areaNames = null;

async function loadAreaNames() {
  if (areaNames) return areaNames;
  const { boards } = await api('GET', '/api/v1/areas');
  areaNames = Object.fromEntries(boards.flatMap((b) => b.areas.map((a) => [a.id, a.name])));
  return areaNames;
}

/** The upstream view: the board's heat map, and by area what the requests led to. */
function renderUpstream(stats, names) {
  const named = (rows) => Object.fromEntries(Object.entries(rows || {})
    .map(([id, value]) => [names[id] || id, value]));
  heatMap($('sup-heatmap'), named(stats.window.by_area_hour_of_week));
  heatTable($('sup-heat-rows'), named(stats.window.by_area_hour_of_week));
  const rows = Object.entries(named(stats.window.upstream))
    .sort((a, b) => b[1].requests - a[1].requests);
  $('sup-upstream-rows').replaceChildren(...rows.map(([area, n]) => el('tr', {},
    el('th', { scope: 'row' }, area), el('td', {}, String(n.requests)),
    el('td', { class: n.detentions ? 'bad' : '' }, String(n.detentions)),
    el('td', {}, String(n.ed_conveyances)))));
}

const boardChoice = $('sup-board');

async function loadUpstream() {
  const board = boardChoice?.value;
  const query = `window=30d&heat_map=true${board ? `&board=${encodeURIComponent(board)}` : ''}`;
  try {
    const [stats, names] = await Promise.all([api('GET', `/api/v1/stats?${query}`),
      loadAreaNames()]);
    renderUpstream(stats, names);
  } catch (e) {
    setText('sup-updated', `Could not load the upstream view: ${e.message}`);
  }
}

async function loadDay() {
  try {
    renderDay(await api('GET', '/api/v1/stats?window=24h&series=true'));
  } catch (e) {
    setText('sup-updated', `Could not load the figures: ${e.message}`);
  }
}

async function loadMonth() {
  try {
    renderMonth(await api('GET', '/api/v1/stats?window=30d&series=true'));
  } catch (e) {
    setText('sup-updated', `Could not load the 30-day pictures: ${e.message}`);
  }
}

function showConnection(state) {
  const node = $('sup-connection');
  node.dataset.state = state;
  node.textContent = { open: 'Live', connecting: 'Connecting…', closed: 'Reconnecting…' }[state];
}

const open = new OpenRequests({ list: $('sup-requests'), empty: $('sup-no-requests') });

new Live({
  onMessage: (message) => {
    if (message.type === 'stats') renderDay(message.stats);
    else if (message.type === 'alarm') alarmMessage(message);
    else if (message.type === 'request.created' || message.type === 'request.updated') {
      if (message.type === 'request.created' && message.request?.status === 'waiting') {
        announce(`New request waiting: priority ${message.request.priority}`
          + `${message.request.area ? `, ${message.request.area}` : ''}.`);
      }
      open.update(message.request);
    }
  },
  onReconnect: () => { loadDay(); open.load(); loadAlarms(); loadNotices(); },
  onState: showConnection,
});
loadDay();
loadAlarms();
loadNotices();
loadMonth();
loadUpstream();
open.load();
boardChoice?.addEventListener('change', loadUpstream);
setInterval(() => { loadMonth(); loadUpstream(); loadNotices(); }, MONTH_EVERY_MS);
