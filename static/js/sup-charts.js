// Small inline-SVG charts for the supervisor dashboard: no library, no inline styles (CSP),
// colours come from classes in supervisor.css. Each function replaces a container's chart.

const NS = 'http://www.w3.org/2000/svg';
const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

function text(x, y, content, attributes = {}) {
  return svg('text', { x, y, ...attributes }, content);
}

function titled(node, title) {
  node.append(svg('title', {}, title));
  return node;
}

const MIN_TEXT_PX = 12;

/** The chart's svg; its text is sized in viewBox units so it shows at 12 px or more. */
function frame(container, width, height, label) {
  const scale = Math.min(1.25, (container.clientWidth || width) / width);
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label,
                            preserveAspectRatio: 'xMidYMid meet',
                            'font-size': (MIN_TEXT_PX / scale).toFixed(1) });
  container.replaceChildren(root);
  return root;
}

function empty(container, message) {
  const p = document.createElement('p');
  p.className = 'muted empty';
  p.textContent = message;
  container.replaceChildren(p);
}

const hourLabel = (iso) => new Date(iso).toLocaleTimeString([], { hour: '2-digit' });
const dayLabel = (iso) => new Date(iso).toLocaleDateString([], { day: 'numeric', month: 'short' });

/** Y axis with gridlines from 0 to `top`; `format` labels each tick. */
function yAxis(root, box, top, ticks, format) {
  for (let i = 0; i <= ticks; i += 1) {
    const value = (top * i) / ticks;
    const y = box.bottom - ((box.bottom - box.top) * i) / ticks;
    root.append(svg('line', { x1: box.left, x2: box.right, y1: y, y2: y, class: 'grid' }),
                text(box.left - 6, y + 4, format(value), { class: 'tick', 'text-anchor': 'end' }));
  }
}

/** Waits per hour: bars of the mean, dots of the 90th percentile, a dashed threshold. */
export function waitChart(container, points, thresholdS) {
  const answered = points.filter((p) => p.accepted > 0);
  if (!answered.length) { empty(container, 'No request answered in the last 24 hours.'); return; }
  const box = { left: 48, right: 512, top: 12, bottom: 196 };
  const root = frame(container, 520, 224, 'Mean and 90th percentile wait per hour');
  const peak = Math.max(thresholdS, ...answered.map((p) => p.wait_p90_s ?? p.wait_mean_s ?? 0));
  const top = Math.ceil(peak / 60 / 5) * 5 * 60 || 300;
  const y = (seconds) => box.bottom - ((box.bottom - box.top) * seconds) / top;
  const step = (box.right - box.left) / points.length;
  yAxis(root, box, top, 5, (v) => `${Math.round(v / 60)}m`);
  points.forEach((p, i) => {
    const x = box.left + i * step;
    if (p.accepted > 0) {
      root.append(titled(svg('rect', { x: x + step * 0.15, width: step * 0.7, y: y(p.wait_mean_s),
        height: box.bottom - y(p.wait_mean_s), class: 'bar' }),
        `${hourLabel(p.from)}: ${p.accepted} answered, mean ${Math.round(p.wait_mean_s)} s, ` +
        `90% within ${p.wait_p90_s} s, service level ${p.service_level_pct}%`));
      root.append(svg('circle', { cx: x + step / 2, cy: y(p.wait_p90_s), r: 3.5, class: 'dot' }));
    }
    if (i % 4 === 1) {
      root.append(text(x + step / 2, box.bottom + 18, hourLabel(p.from),
                       { class: 'tick', 'text-anchor': 'middle' }));
    }
  });
  root.append(svg('line', { x1: box.left, x2: box.right, y1: y(thresholdS), y2: y(thresholdS),
                            class: 'threshold' }));
}

/** Service level per day as a line with dots, 0-100 %. */
export function serviceLevelChart(container, points) {
  const known = points.filter((p) => p.service_level_pct !== null);
  if (!known.length) { empty(container, 'No request answered in the last 30 days.'); return; }
  const box = { left: 56, right: 500, top: 12, bottom: 196 };
  const root = frame(container, 520, 224, 'Service level per day');
  yAxis(root, box, 100, 4, (v) => `${v}%`);
  const step = (box.right - box.left) / Math.max(1, points.length - 1);
  const xy = (p, i) => [box.left + i * step, box.bottom - ((box.bottom - box.top) * p) / 100];
  const path = points.map((p, i) => (p.service_level_pct === null ? null
    : xy(p.service_level_pct, i))).filter(Boolean);
  root.append(svg('polyline', { points: path.map((c) => c.join(',')).join(' '), class: 'line' }));
  points.forEach((p, i) => {
    if (p.service_level_pct !== null) {
      const [cx, cy] = xy(p.service_level_pct, i);
      root.append(titled(svg('circle', { cx, cy, r: 3.5, class: 'dot' }),
        `${dayLabel(p.from)}: ${p.service_level_pct}% of ${p.accepted} answered in time`));
    }
    const last = i === points.length - 1;
    if (last || (i % 7 === 0 && i < points.length - 4)) {  // the last day always, never cut
      root.append(text(box.left + i * step, box.bottom + 18, dayLabel(p.from),
                       { class: 'tick', 'text-anchor': last ? 'end' : i === 0 ? 'start' : 'middle' }));
    }
  });
}

/** Horizontal bars, largest first: [[label, count], ...]. */
export function barList(container, entries, emptyMessage) {
  if (!entries.length) { empty(container, emptyMessage); return; }
  const rows = [...entries].sort((a, b) => b[1] - a[1]).slice(0, 12);
  const height = 16 + rows.length * 26;
  const root = frame(container, 480, height, 'Counts');
  const most = Math.max(...rows.map((r) => r[1]));
  rows.forEach(([label, count], i) => {
    const y = 8 + i * 26;
    const width = (230 * count) / most;
    root.append(text(190, y + 15, label, { class: 'label', 'text-anchor': 'end' }),
                titled(svg('rect', { x: 200, y, width: Math.max(width, 2), height: 18,
                                     class: 'bar' }), `${label}: ${count}`),
                text(206 + width, y + 14, String(count), { class: 'value' }));
  });
}

/** The heat map's colour scale: 1 request in an hour up to the busiest hour's count. */
function legend(root, left, y, most) {
  const steps = 6;
  root.append(text(left - 6, y + 12, 'Requests per hour', { class: 'label', 'text-anchor': 'end' }),
              text(left, y + 12, '1', { class: 'tick' }));
  for (let i = 0; i < steps; i += 1) {
    const n = 1 + ((most - 1) * i) / (steps - 1);
    root.append(svg('rect', { x: left + 24 + i * 22, y, width: 22, height: 16, class: 'heat',
                              'fill-opacity': (0.15 + 0.85 * (n / most)).toFixed(2) }));
  }
  root.append(text(left + 30 + steps * 22, y + 12, String(most), { class: 'tick',
                                                                  'data-testid': 'heat-max' }));
}

/** The hour of day under each day's columns: 06, 12 and 18 where the text fits, else 12. */
function hourAxis(root, left, bottom, cell) {
  const roomy = Number(root.getAttribute('font-size')) <= 14;
  const hours = roomy ? [6, 12, 18] : [12];
  root.append(text(left - 6, bottom + 18, 'Hour', { class: 'label', 'text-anchor': 'end' }));
  for (let d = 0; d < 7; d += 1) {
    for (const h of hours) {
      const x = left + (d * 24 + h) * cell;
      root.append(svg('line', { x1: x, x2: x, y1: bottom, y2: bottom + 5, class: 'grid' }),
                  text(x, bottom + 18, String(h).padStart(2, '0'),
                       { class: 'tick', 'text-anchor': 'middle', 'data-testid': 'heat-hour' }));
    }
  }
}

/** The heat map's figures as a table: per area, the requests on each day of the week and
 * its busiest hour (for screen readers, and for reading exact numbers). */
export function heatTable(body, byArea) {
  const rows = Object.entries(byArea || {})
    .map(([area, hours]) => [area, hours, hours.reduce((a, b) => a + b, 0)])
    .sort((a, b) => b[2] - a[2]);
  body.replaceChildren(...rows.map(([area, hours, total]) => {
    const tr = document.createElement('tr');
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = area;
    const busiest = hours.indexOf(Math.max(...hours));
    const cells = [...DAYS.map((_, d) => hours.slice(d * 24, d * 24 + 24)
      .reduce((a, b) => a + b, 0)), total,
    `${DAYS[Math.floor(busiest / 24)]} ${String(busiest % 24).padStart(2, '0')}:00`];
    tr.append(th, ...cells.map((value) => {
      const td = document.createElement('td');
      td.textContent = String(value);
      return td;
    }));
    return tr;
  }));
}

/** Areas × 168 hours of week, darker where busier (hour 0 is Monday 00:00 local time). */
export function heatMap(container, byArea) {
  const areas = Object.entries(byArea || {})
    .map(([area, hours]) => [area, hours, hours.reduce((a, b) => a + b, 0)])
    .sort((a, b) => b[2] - a[2]).slice(0, 15);
  if (!areas.length) { empty(container, 'No requests in the last 30 days.'); return; }
  const cell = 5;
  const left = 150;
  const bottom = 20 + areas.length * 18;
  const root = frame(container, left + 168 * cell + 10, bottom + 62,
                     'Requests by area and hour of week (the table below has the same figures)');
  const most = Math.max(1, ...areas.flatMap(([, hours]) => hours));
  hourAxis(root, left, bottom, cell);
  legend(root, left, bottom + 38, most);
  DAYS.forEach((day, d) => root.append(text(left + d * 24 * cell + 2, 12, day,
                                            { class: 'tick' })));
  areas.forEach(([area, hours], row) => {
    const y = 20 + row * 18;
    root.append(text(left - 6, y + 12, area.length > 22 ? `${area.slice(0, 21)}…` : area,
                     { class: 'label', 'text-anchor': 'end' }));
    hours.forEach((n, h) => {
      if (!n) return;
      root.append(titled(svg('rect', { x: left + h * cell, y, width: cell, height: 16,
        class: 'heat', 'fill-opacity': (0.15 + 0.85 * (n / most)).toFixed(2) }),
        `${area}, ${DAYS[Math.floor(h / 24)]} ${String(h % 24).padStart(2, '0')}:00: ${n}`));
    });
  });
  for (let d = 1; d < 7; d += 1) {
    root.append(svg('line', { x1: left + d * 24 * cell, x2: left + d * 24 * cell, y1: 16,
                              y2: 20 + areas.length * 18, class: 'grid' }));
  }
}
