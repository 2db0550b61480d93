// On every page: the sign-out button (which also forgets every form draft on this device).
// Signed in through an identity provider that offers it, the browser then goes on to end the
// provider's session too (X-Sign-Out-Location).
import { setCsrf } from './api.js';
import { clearDrafts } from './draft.js';

const signOut = document.getElementById('sign-out');
if (signOut) {
  signOut.addEventListener('click', async () => {
    clearDrafts();
    let next = '/';
    try {
      const csrf = document.querySelector('meta[name="csrf-token"]')?.content || '';
      const response = await fetch('/api/v1/logout', {
        method: 'POST', credentials: 'same-origin', headers: { 'X-CSRF-Token': csrf },
      });
      const provider = response.headers.get('X-Sign-Out-Location');
      if (response.ok && provider && /^https?:\/\//.test(provider)) next = provider;
      setCsrf('');
    } finally {
      location.href = next;
    }
  });
}
