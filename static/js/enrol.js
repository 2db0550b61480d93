// Setting up a second step right after the password: an authenticator app (QR code, then a
// code to confirm, then the recovery codes) or a passkey. Resolves with the sign-in.
import { api } from './api.js';
import { registerPasskey } from './passkey.js';
import { $ } from './dom.js';


function showError(error) {
  $('enrol-error').textContent = error.message || 'That did not work: try again.';
  $('enrol-error').hidden = false;
}

async function startTotp(token) {
  const totp = await api('POST', '/api/v1/mfa/totp', { enrolment_token: token });
  $('mfa-qr').src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(totp.qr_svg)}`;
  $('mfa-secret').textContent = totp.secret;
  $('totp-setup').hidden = false;
  $('totp-setup').querySelector('input').focus();
}

/** Show the recovery codes until the user says they have kept them. */
function showRecoveryCodes(codes) {
  const list = $('recovery-codes');
  list.replaceChildren(...codes.map((code) => {
    const item = document.createElement('li');
    item.textContent = code;
    return item;
  }));
  $('mfa-enrol').hidden = true;
  $('recovery').hidden = false;
  $('recovery-continue').focus();
  return new Promise((resolve) => {
    $('recovery-continue').addEventListener('click', resolve, { once: true });
  });
}

/** Walk the user through enrolment with `token`; resolves with `{user, csrf_token}`. */
export function enrol(token) {
  $('mfa-enrol').hidden = false;
  return new Promise((resolve) => {
    $('enrol-totp').addEventListener('click', () => startTotp(token).catch(showError));
    $('enrol-passkey').addEventListener('click', async () => {
      try {
        resolve(await registerPasskey(token));
      } catch (error) {
        showError(error);
      }
    });
    $('totp-setup').addEventListener('submit', async (event) => {
      event.preventDefault();
      $('enrol-error').hidden = true;
      const code = new FormData(event.target).get('code');
      try {
        const result = await api('POST', '/api/v1/mfa/totp/confirm',
          { code, enrolment_token: token });
        await showRecoveryCodes(result.recovery_codes);
        resolve(result);
      } catch (error) {
        showError(error);
      }
    });
  });
}
