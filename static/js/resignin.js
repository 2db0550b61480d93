// Sign in again in place: when a session lapses (401), a small dialog asks for the password
// without leaving the page, so whatever the user typed (an outcome form, a request) is kept.
import { api, setCsrf } from './api.js';
import { el } from './labels.js';

let pending = null;  // one dialog at a time; every caller waits for the same sign-in

function build() {
  const username = el('input', { name: 'username', autocomplete: 'username', required: true,
                                 'data-testid': 'resignin-username', autocapitalize: 'none' });
  const password = el('input', { name: 'password', type: 'password', required: true,
                                 autocomplete: 'current-password',
                                 'data-testid': 'resignin-password' });
  const error = el('p', { class: 'error', role: 'alert', hidden: true });
  const form = el('form', { method: 'dialog', class: 'resignin' },
    el('h2', {}, 'Signed out: sign in again'),
    el('p', { class: 'muted small' }, 'Your work on this page is kept and sent once you are back.'),
    el('label', {}, 'Username ', username), el('label', {}, 'Password ', password), error,
    el('button', { type: 'submit', class: 'primary', 'data-testid': 'resignin-submit' }, 'Sign in'));
  const dialog = el('dialog', { 'data-testid': 'resignin-dialog' }, form);
  const known = document.querySelector('[data-username]')?.dataset.username;
  if (known) username.value = known;
  return { dialog, form, username, password, error };
}

/** Resolves once the user has signed in again (the new CSRF token is in place). */
export function signInAgain() {
  if (pending) return pending;
  pending = new Promise((resolve) => {
    const parts = build();
    document.body.append(parts.dialog);
    parts.form.addEventListener('submit', async (event) => {
      event.preventDefault();
      parts.error.hidden = true;
      try {
        const result = await api('POST', '/api/v1/login', {
          username: parts.username.value.trim(), password: parts.password.value,
        });
        setCsrf(result.csrf_token);
        parts.dialog.close();
        parts.dialog.remove();
        pending = null;
        resolve(result);
      } catch (e) {
        parts.error.textContent = e.status === 429 ? e.message : 'Wrong username or password.';
        parts.error.hidden = false;
      }
    });
    parts.dialog.addEventListener('cancel', (event) => event.preventDefault());
    parts.dialog.showModal();
    (parts.username.value ? parts.password : parts.username).focus();
  });
  return pending;
}

/** `api(...)`, signing in again in place (and retrying once) when the session has lapsed. */
export async function apiSignedIn(method, path, body, headers) {
  try {
    return await api(method, path, body, headers);
  } catch (error) {
    if (error.status !== 401) throw error;
    await signInAgain();
    return api(method, path, body, headers);
  }
}
