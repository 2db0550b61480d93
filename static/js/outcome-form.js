// The clinician's structured outcome form: fields appear as the disposition needs them.
import { apiSignedIn } from './resignin.js';
import { clearErrors, showErrors } from './form-errors.js';

const NEEDS_REFERRAL = ['dbi_referral', 'non_urgent_referral', 'urgent_face_to_face'];
const PLACE_OF_SAFETY = 'place_of_safety_s297';

const isoFromLocal = (value) => (value ? new Date(value).toISOString() : null);
function localNow() {
  const now = new Date();
  now.setMinutes(now.getMinutes() - now.getTimezoneOffset());
  return now.toISOString().slice(0, 16);
}

export function setupOutcomeForm({ form, requestId, onFiled }) {
  const $ = (id) => document.getElementById(id);
  const f = form.elements;
  const value = (name) => f[name].value.trim();
  const optional = (name) => value(name) || undefined;

  function applyDisposition() {
    const disposition = value('disposition');
    $('referral-fields').hidden = !NEEDS_REFERRAL.includes(disposition);
    $('pos-fields').hidden = disposition !== PLACE_OF_SAFETY;
    if (disposition === 'dbi_referral') f.referral_service.value = 'dbi';
    if (disposition === PLACE_OF_SAFETY && !f.pos_removed_at.value) f.pos_removed_at.value = localNow();
    $('pos-reason').hidden = !f.pos_police_station.checked;
  }

  function applyCode() {
    const option = f.triage_code.selectedOptions[0];
    $('response-target').textContent = option?.dataset.target || 'choose a code';
    if ('ABCDE'.includes(option?.value || 'x')) f.referral_urgency.value = option.value;
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
    if (NEEDS_REFERRAL.includes(disposition)) {
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
    return body;
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    $('outcome-error').hidden = true;
    const button = form.querySelector('[type=submit]');
    button.disabled = true;
    try {
      onFiled(await apiSignedIn('POST', `/api/v1/requests/${requestId}/outcome`, collect()));
    } catch (error) {
      const unplaced = error.status === 422 ? showErrors(form, error.fields) : [];
      const placed = error.status === 422 && !unplaced.length && Object.keys(error.fields).length;
      $('outcome-error').textContent = placed ? 'Please check the fields marked above.'
        : error.status === 409 ? 'This session is no longer yours to close.'
          : [error.message, ...unplaced].join(' ');
      $('outcome-error').hidden = false;
      button.disabled = false;
    }
  });

  applyCode();
  applyDisposition();
}
