// The clinician's structured outcome form: fields appear as the disposition needs them, the
// server's consistency rules (form data-rules) are shown as the clinician chooses, and the
// review step first asks the server to check the outcome (POST …/outcome/check, the rules
// filing applies), then says in words what will be filed.
import { apiSignedIn } from './resignin.js';
import { clearErrors, showErrors } from './form-errors.js';
import { $ } from './dom.js';

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

/** When the referral is due if the clinician gives no time (the server's default): also the
 *  latest due time its urgency allows without a reason. */
function defaultDue(rules, referral, now) {
  if (referral.service === 'dbi') return new Date(now.getTime() + rules.dbi_hours * HOUR_MS);
  return new Date(now.getTime() + rules.targets_h[referral.urgency] * HOUR_MS);
}

/** Where `body` departs from the usual rules (the server's `departures`), in words. */
export function departures(rules, body, now = new Date()) {
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
  const due = body.referral?.due_at && Date.parse(body.referral.due_at);
  if (due && due > defaultDue(rules, body.referral, now).getTime() + rules.due_slack_s * 1000) {
    found.push(`the referral is due later than urgency ${urgency}'s response target`);
  }
  return found;
}

export function setupOutcomeForm({ form, requestId, onFiled }) {
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
    // Asked every time, no default: null until the clinician answers.
    const leave = f.officer_can_leave.value;
    body.officer_can_leave = leave ? leave === 'yes' : null;
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
    text += body.officer_can_leave ? ' The officer is told they can leave now.'
      : ' The officer is told to stay with the person.';
    if (body.override_reason) text += ` Departing from the usual rule because: ${body.override_reason}`;
    return text;
  }

  function showReview(reviewing) {
    $('outcome-review').hidden = !reviewing;
    form.querySelector('[type=submit]').hidden = reviewing;
    if (reviewing) $('outcome-confirm').focus();
  }

  /** Problems on their fields: a departure with no reason also marks the reason's field. */
  function showRefusal(error) {
    const fields = { ...error.fields };
    if (error.code === 'inconsistent_outcome' && !fields.override_reason) {
      $('override-fields').hidden = false;
      fields.override_reason = 'Give your reason for departing from the usual rule (10 characters'
        + ' or more), or correct the fields marked.';
    }
    const unplaced = showErrors(form, fields);
    const placed = !unplaced.length && Object.keys(fields).length;
    $('outcome-error').textContent = placed ? 'Please check the fields marked above.'
      : error.status === 409 ? 'This session is no longer yours to close.'
        : [error.message, ...unplaced].join(' ');
    $('outcome-error').hidden = false;
  }

  async function file(body) {
    const button = $('outcome-confirm');
    button.disabled = true;
    try {
      onFiled(await apiSignedIn('POST', `/api/v1/requests/${requestId}/outcome`, body));
    } catch (error) {
      showReview(false);
      showRefusal(error.status === 422 ? error
        : { code: error.code, status: error.status, message: error.message, fields: {} });
    } finally {
      button.disabled = false;
    }
  }

  // The review step asks the server, which applies every rule filing would (nothing is filed):
  // what it refuses is marked on its field before the clinician is asked to confirm.
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    $('outcome-error').hidden = true;
    pending = collect();
    // Asked every time (the form's own question, no default): marked with the server's.
    const unanswered = pending.officer_can_leave === null
      ? { officer_can_leave: 'say whether the officer can leave now' } : {};
    const button = form.querySelector('[type=submit]');
    button.disabled = true;
    try {
      await apiSignedIn('POST', `/api/v1/requests/${requestId}/outcome/check`, pending);
    } catch (error) {
      const fields = error.status === 422 ? { ...error.fields, ...unanswered } : {};
      showRefusal({ code: error.code, status: error.status, message: error.message, fields });
      return;
    } finally {
      button.disabled = false;
    }
    if (Object.keys(unanswered).length) {
      showRefusal({ fields: unanswered });
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
  form.dataset.ready = 'true'; // the rules are wired: what a user (or a test) does now counts
}
