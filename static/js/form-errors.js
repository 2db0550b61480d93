// 422 field errors shown next to their fields; `fields` keys are dotted paths.

const FRIENDLY = [
  [/field required|at least 1 character/i, 'Required.'],
  [/valid number|parse.*float/i, 'Enter a number.'],
  [/^Input should be '/, 'Choose one.'],
  [/valid datetime/i, 'Enter a date and time.'],
  [/^true, given, lacks_capacity or declined$/, 'Choose one: does the person agree?'],
  [/should match pattern '\^\[0-9 \+/, 'Enter a phone number: 7 to 20 digits, spaces, +, ( ) or -.'],
];

const friendly = (problem) => FRIENDLY.find(([pattern]) => pattern.test(problem))?.[1] || problem;

function slotFor(form, path) {
  const parts = path.split('.');
  while (parts.length) {
    const slot = form.querySelector(`[data-error-for="${CSS.escape(parts.join('.'))}"]`);
    if (slot) return slot;
    parts.pop();
  }
  return null;
}

function clearOne(form, input) {
  const slot = form.querySelector(`[data-error-for="${CSS.escape(input.dataset.field)}"]`);
  if (slot) {
    slot.textContent = '';
    slot.hidden = true;
  }
  input.removeAttribute('aria-invalid');
  input.removeAttribute('aria-describedby');
}

export function clearErrors(form) {
  for (const slot of form.querySelectorAll('[data-error-for]')) {
    slot.textContent = '';
    slot.hidden = true;
  }
  for (const input of form.querySelectorAll('[aria-invalid]')) clearOne(form, input);
}

// A field's error goes as soon as the field is changed (typed in, chosen, ticked).
const watched = new WeakSet();
function watch(form) {
  if (watched.has(form)) return;
  watched.add(form);
  const onEdit = (event) => {
    const input = event.target.closest('[data-field]');
    if (input?.getAttribute('aria-invalid') === 'true') clearOne(form, input);
  };
  form.addEventListener('input', onEdit);
  form.addEventListener('change', onEdit);
}

/** Put each problem next to its field; returns the ones with no place on the form. */
export function showErrors(form, fields) {
  const unplaced = [];
  let first = null;
  watch(form);
  for (const [path, problem] of Object.entries(fields || {})) {
    const slot = slotFor(form, path);
    if (!slot) {
      unplaced.push(`${path}: ${problem}`);
      continue;
    }
    slot.textContent = friendly(problem);
    slot.hidden = false;
    const input = form.querySelector(`[data-field="${CSS.escape(slot.dataset.errorFor)}"]`);
    slot.id = slot.id || `error-${slot.dataset.errorFor.replace(/[^\w-]/g, '-')}`;
    input?.setAttribute('aria-invalid', 'true');
    input?.setAttribute('aria-describedby', slot.id);
    first = first || input || slot;
  }
  first?.scrollIntoView({ block: 'center' });
  first?.focus?.({ preventScroll: true });
  return unplaced;
}
