// The clinician's structured outcome form: fields appear as the disposition needs them, the
// server's consistency rules (form data-rules) are shown before filing, and a review step
// says in words what will be filed.
import { apiSignedIn } from './resignin.js';
import { clearErrors, showErrors } from './form-errors.js';

const PLACE_OF_SAFETY = 'place_of_safety_s297';
const HOUR_MS = 3_600_000;

const isoFromLocal = (value) => (value ? new Date(value).toISOString() : null);
function localNow() {
  const now = new Date();
  now.setMinutes(now.getMinutes() - now.getTimezoneOffset());
  return now.toISOString().slice(0, 16);
}
const optionText = (option) => option.dataset.label || option.textContent;
const lower = (text) => text.charAt(0).toLowerCase() + text.slice(1);

/** "14:05 today", "14:05 tomorrow" or "14:05 on Fri 4 Dec", in the browser's time. */
export function dueInWords(due, now = new Date()) {
  const time = due.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const day = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const days = Math.round((day(due) - day(now)) / (24 * HOUR_MS));
  if (days === 0) return `${time} today`;
  if (days === 1) return `${time} tomorrow`;
  const date = due.toLocaleDateString([], { weekday: 'short', day: 'numeric', month: 'short' });
  return `${time} on ${date}`;
}

/** Where `body` departs from the usual rules (the server's `departures`), in words. */
export function departures(rules, body) {
  const code = body.triage_code;
  const found = [];
  if (!code || !body.disposition) return found;
  if (!rules.fits[code].includes(body.disposition)) {
    found.push(`this disposition is not usual for code ${code}`);
  }
  const urgency = body.referral?.urgency;
  if (urgency && rules.urgency_codes.includes(code) && urgency > code) {
    found.push(`a referral of urgency ${urgency} is less urgent than code ${code}`);
  }
  return found;
}

/** When the referral is due if the clinician gives no time (the server's default). */
function defaultDue(rules, referral, now) {
  if (referral.service === 'dbi') return new Date(now.getTime() + rules.dbi_hours * HOUR_MS);
  return new Date(now.getTime() + rules.targets_h[referral.urgency] * HOUR_MS);
}

export function setupOutcomeForm({ form, requestId, onFiled }) {
  const $ = (id) => document.getElementById(id);
  const f = form.elements;
  const rules = JSON.parse(form.dataset.rules);
  const under16 = form.dataset.ageBand === rules.dbi_min_age_excluded;
  const value = (name) => f[name].value.trim();
  const optional = (name) => value(name) || undefined;
  const selected = (name) => optionText(f[name].selectedOptions[0]);
  let pending = {};

  function markDispositions() {
    const code = value('triage_code');
    for (const option of f.disposition.options) {
      if (!option.value) continue;
      option.dataset.label = optionText(option);
      const unusual = code && !rules.fits[code].includes(option.value);
      option.dataset.fits = unusual ? 'no' : 'yes';
      option.textContent = unusual
        ? `${option.dataset.label} (not usual for ${code})` : option.dataset.label;
    }
  }

  function blockDbi() {
    $('dbi-blocked').hidden = !under16;
    for (const option of [...f.disposition.options, ...f.referral_service.options]) {
      if (['dbi_referral', 'dbi'].includes(option.value)) option.disabled = under16;
    }
  }

  function applyDisposition() {
    const disposition = value('disposition');
    $('referral-fields').hidden = !rules.referral_dispositions.includes(disposition);
    $('pos-fields').hidden = disposition !== PLACE_OF_SAFETY;
    if (disposition === 'dbi_referral') f.referral_service.value = 'dbi';
    if (disposition === PLACE_OF_SAFETY && !f.pos_removed_at.value) f.pos_removed_at.value = localNow();
    $('pos-reason').hidden = !f.pos_police_station.checked;
    const found = departures(rules, collect());
    $('override-fields').hidden = !found.length;
    $('override-why').textContent = found.length
      ? `Usually not filed like this: ${found.join('; ')}. You may still file it: say why.` : '';
  }

  function applyCode() {
    const option = f.triage_code.selectedOptions[0];
    $('response-target').textContent = option?.dataset.target || 'choose a code';
    if (option?.value) {
      f.referral_urgency.value = rules.urgency_codes.includes(option.value) ? option.value : 'E';
    }
    markDispositions();
  }

  form.addEventListener('change', (event) => {
    if (event.target === f.triage_code) applyCode();
    applyDisposition();
  });

  function collect() {
    const disposition = value('disposition');
    const body = {
      triage_code: value('triage_code') || null, disposition: disposition || null,
      risk: { to_self: value('risk_to_self') || null, to_others: value('risk_to_others') || null,
              from_others: optional('risk_from_others'), self_neglect: optional('risk_self_neglect') },
      conveyance: value('conveyance'), summary: value('summary'),
      advice_to_officer: value('advice_to_officer'),
    };
    if (f.officer_released.checked) body.officer_released_at = new Date().toISOString();
    if (rules.referral_dispositions.includes(disposition)) {
      body.referral = { service: value('referral_service'), urgency: value('referral_urgency'),
                        due_at: isoFromLocal(value('referral_due')) || undefined,
                        contact: optional('referral_contact') };
    }
    if (disposition === PLACE_OF_SAFETY) {
      const station = f.pos_police_station.checked;
      body.place_of_safety = {
        name: value('pos_name'), address: value('pos_address'),
        removed_at: isoFromLocal(value('pos_removed_at')), is_police_station: station,
        police_station_reason: station ? value('pos_reason') || null : null,
        circumstances: optional('pos_circumstances'), person_name: optional('pos_person_name'),
        person_address: optional('pos_person_address'),
        nearest_relative_informed: f.pos_relative.checked,
        local_authority_informed: f.pos_local_authority.checked,
      };
    }
    if (departures(rules, body).length) body.override_reason = value('override_reason') || null;
    return body;
  }

  /** "C, urgent face-to-face assessment, crisis team due 14:05 tomorrow", and any override. */
  function summary(body) {
    const parts = [body.triage_code, lower(selected('disposition'))];
    if (body.referral) {
      const now = new Date();
      const due = body.referral.due_at
        ? new Date(body.referral.due_at) : defaultDue(rules, body.referral, now);
      const when = due.getTime() <= now.getTime() ? 'due now' : `due ${dueInWords(due, now)}`;
      parts.push(`${lower(selected('referral_service'))} (urgency ${body.referral.urgency}) ${when}`);
    }
    if (body.place_of_safety) {
      parts.push(`place of safety: ${body.place_of_safety.name || '(not named)'}`);
    }
    let text = `You are about to file: ${parts.join(', ')}.`;
    if (body.override_reason) text += ` Departing from the usual rule because: ${body.override_reason}`;
    return text;
  }

  function showReview(reviewing) {
    $('outcome-review').hidden = !reviewing;
    form.querySelector('[type=submit]').hidden = reviewing;
    if (reviewing) $('outcome-confirm').focus();
  }

  async function file(body) {
    const button = $('outcome-confirm');
    button.disabled = true;
    try {
      onFiled(await apiSignedIn('POST', `/api/v1/requests/${requestId}/outcome`, body));
    } catch (error) {
      showReview(false);
      const unplaced = error.status === 422 ? showErrors(form, error.fields) : [];
      const placed = error.status === 422 && !unplaced.length && Object.keys(error.fields).length;
      $('outcome-error').textContent = placed ? 'Please check the fields marked above.'
        : error.status === 409 ? 'This session is no longer yours to close.'
          : [error.message, ...unplaced].join(' ');
      $('outcome-error').hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearErrors(form);
    $('outcome-error').hidden = true;
    pending = collect();
    // Without a code and a disposition there is nothing to review: the server names the gaps.
    if (!pending.triage_code || !pending.disposition) {
      file(pending);
      return;
    }
    $('outcome-review-summary').textContent = summary(pending);
    showReview(true);
  });
  $('outcome-back').addEventListener('click', () => showReview(false));
  $('outcome-confirm').addEventListener('click', () => file(pending));

  blockDbi();
  applyCode();
  applyDisposition();
}
