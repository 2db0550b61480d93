// Plain-language labels for the codes the API uses, shared by the console and session pages.

export const CONCERNS = {
  suicidal_thoughts: 'Suicidal thoughts', self_harm: 'Self-harm', psychosis: 'Psychosis',
  confusion: 'Confusion', intoxication: 'Intoxication', aggression: 'Aggression',
  distress: 'Distress', other: 'Other',
};
export const AGE_BANDS = {
  under_16: 'Under 16', '16_17': '16–17', '18_25': '18–25', '26_40': '26–40', '41_64': '41–64',
  '65_plus': '65+', unknown: 'Age unknown',
};
export const SEXES = { female: 'Female', male: 'Male', other: 'Other', unknown: 'Sex unknown' };
export const URGENCIES = { immediate: 'Immediate', urgent: 'Urgent', routine: 'Routine' };
export const MODES = { video: 'Video', audio: 'Audio', text: 'Text chat' };
export const SERVICES = {
  crisis_team: 'Crisis team', cmht: 'Community mental health team', gp: 'GP',
  dbi: 'Distress Brief Intervention', liaison_psychiatry: 'Liaison psychiatry',
  camhs: 'CAMHS', other: 'Other service',
  mental_welfare_commission: 'Mental Welfare Commission notice (s298)',
};
export const REFERRAL_STATUSES = {
  pending: 'Pending', accepted: 'Accepted', completed: 'Completed',
  did_not_attend: 'Did not attend', cancelled: 'Cancelled', declined: 'Declined',
};
export const DISPOSITIONS = {
  advice_only: 'Advice only', resolved_on_scene: 'Resolved on scene',
  nhs24_mh_hub: 'NHS 24 MH hub', dbi_referral: 'DBI referral',
  non_urgent_referral: 'Non-urgent referral', urgent_face_to_face: 'Urgent face to face',
  emergency_department: 'Emergency department', informal_admission: 'Informal admission',
  place_of_safety_s297: 'Place of safety (s297)',
  medical_examination_detention: 'Detained for examination', criminal_justice: 'Criminal justice',
  emergency_services: 'Emergency services', not_completed: 'Not completed',
};
export const CSSRS = {
  q1: 'Wished to be dead', q2: 'Thoughts of killing themselves', q3: 'Thought about how',
  q4: 'Some intention of acting', q5: 'Worked out details / intends to', q6_lifetime:
  'Ever done or prepared anything to end their life', q6_recent: '… within the past 3 months',
};

export const label = (table, code) => table[code] || code || '—';

/** "3:07" or "1:02:07" for a number of seconds. */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const mm = String(Math.floor((s % 3600) / 60)).padStart(s >= 3600 ? 2 : 1, '0');
  const ss = String(s % 60).padStart(2, '0');
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** "about 3 min", "under a minute", "about 2 h 10 min". */
export function roughly(seconds) {
  if (seconds < 60) return 'under a minute';
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `about ${minutes} min`;
  return `about ${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** Local date and time, short. */
export function when(iso) {
  return new Date(iso).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

/** Build an element: el('li', {class: 'x', dataset: {id}}, 'text', child). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

/** "1 second", "3 seconds": a count with its noun in the right number. */
export function plural(count, singular, pluralForm = `${singular}s`) {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}

/** "in 4 h", "in 35 min", "in 3 days", "overdue by 20 min": a due time from now. */
export function relativeDue(iso, now = Date.now()) {
  const minutes = Math.round((Date.parse(iso) - now) / 60000);
  const size = Math.abs(minutes);
  const amount = size < 60 ? `${size} min` : size < 48 * 60 ? `${Math.round(size / 60)} h`
    : plural(Math.round(size / 1440), 'day');
  return minutes >= 0 ? `in ${amount}` : `overdue by ${amount}`;
}
