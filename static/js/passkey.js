// Passkeys (WebAuthn): register one on this device, or sign in with one. The options come
// from the service as JSON and go to the browser as they are (parse…FromJSON / toJSON).
import { api } from './api.js';

/** Whether this browser can use passkeys here (a secure context with WebAuthn JSON). */
export const passkeysSupported = () => window.isSecureContext && 'PublicKeyCredential' in window
  && typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function';

/** Register a passkey for the signed-in user, or for the holder of `enrolmentToken`. */
export async function registerPasskey(enrolmentToken) {
  const body = enrolmentToken ? { enrolment_token: enrolmentToken } : {};
  const ceremony = await api('POST', '/api/v1/mfa/webauthn/register/options', body);
  const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(ceremony.publicKey);
  const credential = await navigator.credentials.create({ publicKey });
  return api('POST', '/api/v1/mfa/webauthn/register/verify', {
    ...body, ceremony_id: ceremony.ceremony_id, credential: credential.toJSON(),
  });
}

/** Sign in with a passkey (the named user's, or any of this service's on the device). */
export async function signInWithPasskey(username) {
  const ceremony = await api('POST', '/api/v1/login/webauthn/options',
    username ? { username } : {});
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(ceremony.publicKey);
  const credential = await navigator.credentials.get({ publicKey });
  return api('POST', '/api/v1/login/webauthn/verify', {
    ceremony_id: ceremony.ceremony_id, credential: credential.toJSON(),
  });
}
