// The evaluation export for chosen days: checks the period here (the service would answer
// 422 with the same rules), then downloads the CSV or the FHIR NDJSON under a dated name.
// The days are sent as dates: the service counts them in the board's local time.
const DAY_MS = 86400000;
const MAX_DAYS = 366;  // stats_window.MAX_SPAN_DAYS
const FORMATS = {
  csv: { path: '/api/v1/stats/export.csv', extension: 'csv' },
  fhir: { path: '/api/v1/stats/export.fhir.ndjson', extension: 'ndjson' },
};

const form = document.getElementById('sup-export-form');
const error = document.getElementById('sup-export-error');
const isoDay = (date) => date.toISOString().slice(0, 10);

function showError(text) {
  error.textContent = text;
  error.hidden = !text;
}

// The last 30 days, today included, until the supervisor picks others.
const today = new Date();
form.elements.to.value = isoDay(today);
form.elements.from.value = isoDay(new Date(today.getTime() - 29 * DAY_MS));

// The period as [from, to) in epoch ms, or a message saying what is wrong with it.
function period() {
  const from = form.elements.from.valueAsNumber;
  const last = form.elements.to.valueAsNumber;
  if (Number.isNaN(from)) return { problem: 'Choose the first day.' };
  if (Number.isNaN(last)) return { problem: 'Choose the last day.' };
  if (last < from) return { problem: 'The last day must not be before the first day.' };
  const to = last + DAY_MS;
  if (to - from > MAX_DAYS * DAY_MS) return { problem: `A period spans at most ${MAX_DAYS} days.` };
  return { from, to };
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const { problem, from, to } = period();
  showError(problem);
  if (problem) return;
  const format = FORMATS[event.submitter?.value] || FORMATS.csv;
  const query = new URLSearchParams({
    from: isoDay(new Date(from)), to: isoDay(new Date(to - DAY_MS)),
  });
  const link = document.createElement('a');
  link.href = `${format.path}?${query}`;
  link.download = `triage-evaluation-${isoDay(new Date(from))}-to-`
    + `${isoDay(new Date(to - DAY_MS))}.${format.extension}`;
  document.body.append(link);
  link.click();
  link.remove();
});
