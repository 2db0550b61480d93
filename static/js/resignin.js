// Sign in again in place: when a session lapses (401), a small dialog asks for the password
// (and the second step, where the account has one) without leaving the page, so whatever the
// user typed (an outcome form, a request) is kept.
import { api, setCsrf } from './api.js';
import { el } from './labels.js';
import { signInWithPasskey } from './passkey.js';

let pending = null;  // one dialog at a time; every caller waits for the same sign-in

function build() {
  const username = el('input', { name: 'username', autocomplete: 'username', required: true,
                                 'data-testid': 'resignin-username', autocapitalize: 'none' });
  const password = el('input', { name: 'password', type: 'password', required: true,
                                 autocomplete: 'current-password',
                                 'data-testid': 'resignin-password' });
  const otp = el('input', { name: 'otp', inputmode: 'numeric', autocomplete: 'one-time-code',
                            maxlength: '6', 'data-testid': 'resignin-otp' });
  const otpLabel = el('label', { hidden: true }, 'Code from your authenticator app ', otp);
  const passkey = el('button', { type: 'button', class: 'link', hidden: true,
                                 'data-testid': 'resignin-passkey' }, 'Use your passkey');
  const error = el('p', { class: 'error', role: 'alert', hidden: true });
  const form = el('form', { method: 'dialog', class: 'resignin' },
    el('h2', {}, 'Signed out: sign in again'),
    el('p', { class: 'muted small' }, 'Your work on this page is kept and sent once you are back.'),
    el('label', {}, 'Username ', username), el('label', {}, 'Password ', password), otpLabel,
    error,
    el('button', { type: 'submit', class: 'primary', 'data-testid': 'resignin-submit' }, 'Sign in'),
    passkey);
  const dialog = el('dialog', { 'data-testid': 'resignin-dialog' }, form);
  const known = document.querySelector('[data-username]')?.dataset.username;
  if (known) username.value = known;
  return { dialog, form, username, password, otp, otpLabel, passkey, error };
}

/** After the right password, the second step the account asks for: the code, or a passkey. */
function askSecondStep(parts, methods) {
  parts.otpLabel.hidden = !methods.includes('totp');
  parts.passkey.hidden = !methods.includes('webauthn');
  parts.error.textContent = methods.includes('totp')
    ? 'Enter the code from your authenticator app.' : 'Use your passkey.';
  parts.error.hidden = false;
  if (!parts.otpLabel.hidden) parts.otp.focus();
}

/** Resolves once the user has signed in again (the new CSRF token is in place). */
export function signInAgain() {
  if (pending) return pending;
  pending = new Promise((resolve) => {
    const parts = build();
    document.body.append(parts.dialog);
    const done = (result) => {
      setCsrf(result.csrf_token);
      parts.dialog.close();
      parts.dialog.remove();
      pending = null;
      resolve(result);
    };
    parts.form.addEventListener('submit', async (event) => {
      event.preventDefault();
      parts.error.hidden = true;
      const otp = parts.otpLabel.hidden ? {} : { otp: parts.otp.value.trim() };
      try {
        done(await api('POST', '/api/v1/login', {
          username: parts.username.value.trim(), password: parts.password.value, ...otp,
        }));
      } catch (e) {
        if (e.code === 'mfa_required') return askSecondStep(parts, e.details.methods || []);
        parts.error.textContent = e.status === 429 || e.status === 403 ? e.message
          : e.code === 'invalid_otp' ? 'Wrong or used code.'
            : e.code === 'mfa_enrolment_required' ? 'Set up your second step: reload the page.'
              : 'Wrong username or password.';
        parts.error.hidden = false;
      }
    });
    parts.passkey.addEventListener('click', async () => {
      try {
        done(await signInWithPasskey(parts.username.value.trim()));
      } catch {
        parts.error.textContent = 'The passkey did not sign you in.';
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
