// Sign-in form: POST /api/v1/login, then go to the role's page.
import { api, setCsrf } from './api.js';

const HOME = { officer: '/officer', clinician: '/console', supervisor: '/supervisor', admin: '/supervisor' };
const form = document.getElementById('login-form');
const error = document.getElementById('login-error');

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  error.hidden = true;
  const data = new FormData(form);
  try {
    const result = await api('POST', '/api/v1/login', {
      username: data.get('username'), password: data.get('password'),
    });
    setCsrf(result.csrf_token);
    const next = new URLSearchParams(location.search).get('next');
    location.href = next && next.startsWith('/') && !next.startsWith('//') ? next : HOME[result.user.role];
  } catch (e) {
    error.textContent = e.status === 429 ? e.message : 'Wrong username or password.';
    error.hidden = false;
  }
});
