// The officer's one question after an assessment: how useful it was (1-5), with optional
// minutes saved, what the officer would otherwise have done and a comment; asked once per
// request.
import { api } from './api.js';
import { $ } from './dom.js';


export function askFeedback(requestId, given) {
  const form = $('feedback-form');
  if (!form || form.dataset.asked) return;
  form.dataset.asked = '1';
  if (given) {
    $('feedback-thanks').hidden = false;
    return;
  }
  form.hidden = false;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const useful = form.elements.useful.value;
    const error = $('feedback-error');
    if (!useful) {
      error.textContent = 'Choose how useful it was, from 1 to 5.';
      error.hidden = false;
      return;
    }
    const body = { useful: Number(useful) };
    const minutes = form.elements.time_saved_min.value.trim();
    if (minutes) body.time_saved_min = Number(minutes);
    const counterfactual = form.elements.counterfactual.value;
    if (counterfactual) body.counterfactual = counterfactual;
    const comment = form.elements.comment.value.trim();
    if (comment) body.comment = comment;
    try {
      await api('POST', `/api/v1/requests/${requestId}/feedback`, body);
    } catch (failure) {
      if (failure.status !== 409) {
        error.textContent = Object.values(failure.fields)[0] || failure.message;
        error.hidden = false;
        return;
      }
    }
    form.hidden = true;
    $('feedback-thanks').hidden = false;
  });
}
