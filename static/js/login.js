// Sign-in form: POST /api/v1/login (then a second step where the account has or needs one),
// or a passkey; then go to the role's page.
import { api, setCsrf } from './api.js';
import { enrol } from './enrol.js';
import { passkeysSupported, signInWithPasskey } from './passkey.js';

const HOME = { officer: '/officer', clinician: '/console', supervisor: '/supervisor', admin: '/supervisor',
               receiver: '/referrals' };
const form = document.getElementById('login-form');
const error = document.getElementById('login-error');
const mfa = document.getElementById('mfa-step');
const mfaError = document.getElementById('mfa-error');
const passkeyButton = document.getElementById('passkey-sign-in');
let password = null;  // kept in memory only, to send again with the second step

// The server renders `next` only when it is one of this service's pages; checked again here
// so that nothing but a same-origin path is ever followed.
function sameOriginPath(next) {
  if (!next || !next.startsWith('/')) return null;
  try {
    const url = new URL(next, location.origin);
    return url.origin === location.origin ? url.pathname + url.search : null;
  } catch {
    return null;
  }
}

function signedIn(result) {
  password = null;
  setCsrf(result.csrf_token);
  location.href = sameOriginPath(form.dataset.next) || HOME[result.user.role];
}

function fail(where, e, fallback) {
  where.textContent = e.status === 429 || e.status === 403 ? e.message : fallback;
  where.hidden = false;
}

async function passkeySignIn(username) {
  try {
    signedIn(await signInWithPasskey(username));
  } catch (e) {
    fail(mfa.hidden ? error : mfaError, e, 'The passkey did not sign you in.');
  }
}

function askSecondStep(methods) {
  form.hidden = true;
  mfa.hidden = false;
  document.getElementById('mfa-use-passkey').hidden = !methods.includes('webauthn');
  const totp = methods.includes('totp');
  document.getElementById('mfa-code-label').hidden = !totp;
  document.getElementById('mfa-use-recovery').hidden = !totp;
  document.getElementById('mfa-prompt').textContent = totp
    ? 'Enter the 6-digit code from your authenticator app.' : 'Sign in with your passkey.';
  mfa.querySelector('input:not([hidden])')?.focus();
}

async function logIn(extra = {}) {
  const data = new FormData(form);
  const result = await api('POST', '/api/v1/login', {
    username: data.get('username'), password, ...extra,
  });
  signedIn(result);
}

function listen() {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    password = new FormData(form).get('password');
    try {
      await logIn();
    } catch (e) {
      if (e.code === 'mfa_required') askSecondStep(e.details.methods || []);
      else if (e.code === 'mfa_enrolment_required') {
        form.hidden = true;
        signedIn(await enrol(e.details.enrolment_token));
      } else fail(error, e, 'Wrong username or password.');
    }
  });

  mfa.addEventListener('submit', async (event) => {
    event.preventDefault();
    mfaError.hidden = true;
    const data = new FormData(mfa);
    const useRecovery = !document.getElementById('mfa-recovery-label').hidden;
    try {
      await logIn(useRecovery ? { recovery_code: data.get('recovery_code') }
        : { otp: data.get('otp') });
    } catch (e) {
      fail(mfaError, e, useRecovery ? 'Wrong or used recovery code.' : 'Wrong or used code.');
    }
  });

  document.getElementById('mfa-use-recovery').addEventListener('click', () => {
    document.getElementById('mfa-code-label').hidden = true;
    document.getElementById('mfa-recovery-label').hidden = false;
    document.getElementById('mfa-use-recovery').hidden = true;
    document.querySelector('[data-testid="mfa-recovery-code"]').focus();
  });
  document.getElementById('mfa-use-passkey').addEventListener('click',
    () => passkeySignIn(new FormData(form).get('username')));

  passkeyButton.hidden = !passkeysSupported();
  passkeyButton.addEventListener('click', () => {
    error.hidden = true;
    passkeySignIn(new FormData(form).get('username') || null);
  });
}

// Without password sign-in (TRIAGE_LOCAL_LOGIN_ROLES empty) the page has provider buttons only.
if (form) listen();
