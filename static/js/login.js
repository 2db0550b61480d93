// Sign-in form: POST /api/v1/login, then go to the role's page.
import { api, setCsrf } from './api.js';

const HOME = { officer: '/officer', clinician: '/console', supervisor: '/supervisor', admin: '/supervisor',
               receiver: '/referrals' };
const form = document.getElementById('login-form');
const error = document.getElementById('login-error');

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

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  error.hidden = true;
  const data = new FormData(form);
  try {
    const result = await api('POST', '/api/v1/login', {
      username: data.get('username'), password: data.get('password'),
    });
    setCsrf(result.csrf_token);
    location.href = sameOriginPath(form.dataset.next) || HOME[result.user.role];
  } catch (e) {
    error.textContent = e.status === 429 ? e.message : 'Wrong username or password.';
    error.hidden = false;
  }
});
