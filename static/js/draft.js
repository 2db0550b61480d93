// A form's draft kept in sessionStorage, so a filled form survives a sign-in or a reload.

export function keepDraft(form, key) {
  let restoring = false;
  const save = () => {
    if (restoring) return;
    const values = {};
    for (const field of form.elements) {
      if (!field.name || field.type === 'submit' || field.type === 'button') continue;
      if (field.type === 'checkbox' || field.type === 'radio') {
        values[`${field.name}=${field.value}`] = field.checked;
      } else {
        values[field.name] = field.value;
      }
    }
    try { sessionStorage.setItem(key, JSON.stringify(values)); } catch { /* storage full or off */ }
  };

  function restore() {
    let values = null;
    try { values = JSON.parse(sessionStorage.getItem(key) || 'null'); } catch { values = null; }
    if (!values) return false;
    restoring = true;
    for (const field of form.elements) {
      if (!field.name) continue;
      const checkable = field.type === 'checkbox' || field.type === 'radio';
      const stored = values[checkable ? `${field.name}=${field.value}` : field.name];
      if (stored === undefined) continue;
      if (checkable) field.checked = stored;
      else field.value = stored;
      field.dispatchEvent(new Event('change', { bubbles: true }));
    }
    restoring = false;
    return true;
  }

  form.addEventListener('input', save);
  form.addEventListener('change', save);
  return { restore, clear: () => sessionStorage.removeItem(key) };
}
