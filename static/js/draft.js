// A form's draft kept in sessionStorage, so a filled form survives a sign-in or a reload. The
// draft is the signed-in user's: kept under their id, gone at sign-out (clearDrafts), and
// another user's draft on the same device is deleted the moment a page opens a draft of its own.

const PREFIX = 'draft:';
const LEGACY_KEYS = ['officer-request-draft'];  // unkeyed drafts of earlier versions

/** The signed-in user's id, from the page's `user-id` meta tag ('' when signed out). */
export function currentUser() {
  return document.querySelector('meta[name="user-id"]')?.content || '';
}

function storedKeys() {
  const keys = [];
  try {
    for (let i = 0; i < sessionStorage.length; i += 1) keys.push(sessionStorage.key(i));
  } catch (error) {
    console.info('draft: no session storage, so no drafts', error);
  }
  return keys;
}

function remove(key) {
  try {
    sessionStorage.removeItem(key);
  } catch (error) {
    console.info('draft: no session storage to clear', error);
  }
}

/** Delete every draft on this device (at sign-out). */
export function clearDrafts() {
  for (const key of storedKeys()) {
    if (key.startsWith(PREFIX) || LEGACY_KEYS.includes(key)) remove(key);
  }
}

export function keepDraft(form, name, owner = currentUser()) {
  const key = `${PREFIX}${name}:${owner}`;
  // Someone else's draft of this form (their session lapsed on this device): not for us.
  for (const stored of storedKeys()) {
    if ((stored.startsWith(`${PREFIX}${name}:`) && stored !== key) || LEGACY_KEYS.includes(stored)) {
      remove(stored);
    }
  }
  let restoring = false;
  const save = () => {
    if (restoring || !owner) return;
    const values = {};
    for (const field of form.elements) {
      if (!field.name || field.type === 'submit' || field.type === 'button') continue;
      if (field.type === 'checkbox' || field.type === 'radio') {
        values[`${field.name}=${field.value}`] = field.checked;
      } else {
        values[field.name] = field.value;
      }
    }
    try {
      sessionStorage.setItem(key, JSON.stringify(values));
    } catch (error) {
      console.info('draft: not kept (storage full or off)', error);
    }
  };

  function restore() {
    let values = null;
    try {
      values = JSON.parse(sessionStorage.getItem(key) || 'null');
    } catch (error) {
      console.info('draft: none to restore', error);
    }
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
  return { restore, clear: () => remove(key) };
}
