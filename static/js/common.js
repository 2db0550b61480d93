// On every page: the sign-out button.
import { api } from './api.js';

const signOut = document.getElementById('sign-out');
if (signOut) {
  signOut.addEventListener('click', async () => {
    try { await api('POST', '/api/v1/logout'); } finally { location.href = '/'; }
  });
}
