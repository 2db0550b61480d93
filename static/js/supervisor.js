// The supervisor's dashboard: the live figures arrive over /ws as `stats` every few seconds;
// the 30-day pictures (service-level trend; the upstream view of a board: demand heat map,
// detentions and ED conveyances by area) are re-read every five minutes.
import { api } from './api.js';
import { clock, el } from './labels.js';
import { Live } from './live.js';
import { alarmMessage, loadAlarms } from './sup-alarms.js';
import { barList, heatMap, serviceLevelChart, waitChart } from './sup-charts.js';
import { OpenRequests } from './sup-requests.js';

const MONTH_EVERY_MS = 5 * 60 * 1000;
const DISPOSITIONS = {
  advice_only: 'Advice only', resolved_on_scene: 'Resolved on scene',
  nhs24_mh_hub: 'NHS 24 MH hub', dbi_referral: 'DBI referral',
  non_urgent_referral: 'Non-urgent referral', urgent_face_to_face: 'Urgent face to face',
  emergency_department: 'Emergency department', informal_admission: 'Informal admission',
  place_of_safety_s297: 'Place of safety (s297)',
  medical_examination_detention: 'Detained for examination', criminal_justice: 'Criminal justice',
  emergency_services: 'Emergency services', not_completed: 'Not completed',
};

const dashboard = document.getElementById('dashboard');
const thresholdS = Number(dashboard.dataset.thresholdS);
const byId = (id) => document.getElementById(id);

function setText(id, value) {
  const node = byId(id);
  const textValue = String(value);
  if (node.textContent !== textValue) node.textContent = textValue;
}

const pct = (value) => (value === null || value === undefined ? '–' : `${value}%`);
const seconds = (value) => (value === null || value === undefined ? '–' : clock(value));

function renderTiles(stats) {
  const { queue, clinicians, referrals, window: day } = stats;
  setText('sup-waiting', queue.waiting);
  for (const node of byId('sup-waiting-by-priority').querySelectorAll('[data-priority]')) {
    node.textContent = queue.by_priority[node.dataset.priority] ?? 0;
  }
  setText('sup-longest-wait', queue.waiting ? clock(queue.longest_wait_s) : '–');
  setText('sup-in-session', queue.in_session);
  setText('sup-clinicians-available', clinicians.available);
  setText('sup-clinicians-busy', clinicians.busy);
  setText('sup-clinicians-offline', clinicians.offline);
  const level = day.service_level.today_pct ?? day.service_level.pct;
  setText('sup-service-level', pct(level));
  byId('sup-service-level').classList.toggle('bad', level !== null && level < 90);
  setText('sup-overdue-referrals', referrals.overdue);
  byId('sup-overdue-referrals').classList.toggle('bad', referrals.overdue > 0);
  setText('sup-open-referrals', referrals.open);
  byId('sup-longest-wait').classList.toggle('bad', queue.escalated > 0);
}

// The live conditions that are no alarm record of their own (the records list above has
// the long waits and s298 notices): everyone on duty is busy with someone waiting.
const RIGHT_NOW = new Set(['no_clinician_available']);

function renderAlarms(alarms) {
  byId('sup-alarms').replaceChildren(...alarms.filter((alarm) => RIGHT_NOW.has(alarm.kind))
    .map((alarm) => el('li', { class: `alarm ${alarm.kind}`, dataset: { kind: alarm.kind } },
      el('strong', {}, 'Right now: '), alarm.message)));
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
  byId('sup-figures').replaceChildren(...rows.map(([name, value]) => el('div', {},
    el('dt', {}, name), el('dd', {}, String(value)))));
}

function renderDay(stats) {
  renderTiles(stats);
  renderAlarms(stats.alarms);
  renderFigures(stats.window);
  waitChart(byId('sup-chart-waits'), stats.window.series?.points ?? [], thresholdS);
  barList(byId('sup-chart-dispositions'), Object.entries(stats.window.dispositions)
    .map(([code, n]) => [DISPOSITIONS[code] || code, n]), 'No outcomes in the last 24 hours.');
  setText('sup-updated', `Updated ${new Date(stats.generated_at).toLocaleTimeString()}`);
}

function renderMonth(stats) {
  serviceLevelChart(byId('sup-chart-service-level'), stats.window.series?.points ?? []);
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
  heatMap(byId('sup-heatmap'), named(stats.window.by_area_hour_of_week));
  const rows = Object.entries(named(stats.window.upstream))
    .sort((a, b) => b[1].requests - a[1].requests);
  byId('sup-upstream-rows').replaceChildren(...rows.map(([area, n]) => el('tr', {},
    el('th', { scope: 'row' }, area), el('td', {}, String(n.requests)),
    el('td', { class: n.detentions ? 'bad' : '' }, String(n.detentions)),
    el('td', {}, String(n.ed_conveyances)))));
}

const boardChoice = byId('sup-board');

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
  const node = byId('sup-connection');
  node.dataset.state = state;
  node.textContent = { open: 'Live', connecting: 'Connecting…', closed: 'Reconnecting…' }[state];
}

const open = new OpenRequests({ list: byId('sup-requests'), empty: byId('sup-no-requests') });

new Live({
  onMessage: (message) => {
    if (message.type === 'stats') renderDay(message.stats);
    else if (message.type === 'alarm') alarmMessage(message);
    else if (message.type === 'request.created' || message.type === 'request.updated') {
      open.update(message.request);
    }
  },
  onReconnect: () => { loadDay(); open.load(); loadAlarms(); },
  onState: showConnection,
});
loadDay();
loadAlarms();
loadMonth();
loadUpstream();
open.load();
boardChoice?.addEventListener('change', loadUpstream);
setInterval(() => { loadMonth(); loadUpstream(); }, MONTH_EVERY_MS);
