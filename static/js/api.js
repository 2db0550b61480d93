// Shared REST helper: JSON in and out, the CSRF header on every change, errors as exceptions.

const csrfMeta = () => document.querySelector('meta[name="csrf-token"]');

export class ApiError extends Error {
  constructor(status, body, retryAfterS = null) {
    super(body?.error?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
    this.fields = body?.error?.fields || {};
    this.details = body?.error || {};  // e.g. `methods` and `enrolment_token` of a sign-in
    this.retryAfterS = retryAfterS;
  }
}

export function setCsrf(token) {
  const meta = csrfMeta();
  if (meta) meta.content = token;
}

// The service answers within its store deadline (5 s; a sign-in's password check, a fraction of
// a second, aside) or says it cannot (503); an answer still missing after this long is a dead
// connection (one bar of signal, a network change), which a phone may otherwise wait on for
// minutes. It fails like a lost connection, so the caller
// retries (a change, with its idempotency key) or shows what it can.
const ANSWER_TIMEOUT_MS = 15000;

export async function api(method, path, body, extraHeaders = {}) {
  const headers = { Accept: 'application/json', ...extraHeaders };
  if (method !== 'GET') headers['X-CSRF-Token'] = csrfMeta()?.content || '';
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  // A timer of the page's own (not AbortSignal.timeout), so a test's clock can run it on.
  const deadline = new AbortController();
  const timer = setTimeout(
    () => deadline.abort(new DOMException('No answer in time.', 'TimeoutError')), ANSWER_TIMEOUT_MS);
  try {
    const response = await fetch(path, {
      method, headers, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: deadline.signal,
    });
    // A body that is not JSON (a proxy's error page) leaves only the status to go by.
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) {
      const retryAfter = Number.parseFloat(response.headers.get('Retry-After'));
      throw new ApiError(response.status, data, Number.isFinite(retryAfter) ? retryAfter : null);
    }
    return data;
  } finally {
    clearTimeout(timer);
  }
}

// Answers after which the same change may be sent again: the service was unavailable (the
// change may or may not have been made), or the answer never arrived.
const RETRY_STATUSES = new Set([502, 503, 504]);

/** Whether `error` leaves it unknown if the change was made, so it is worth a retry. */
export function isRetriable(error) {
  return !(error instanceof ApiError) || RETRY_STATUSES.has(error.status);
}

/** A state change sent with one Idempotency-Key, again with the SAME key after a 503 or a
 * network error (backing off, at most `attempts` times): the service answers a repeated key
 * with the first change's answer, so a change made but answered 503 is never made twice.
 * `key`: a key kept by the caller across presses of its button; `onRetry(error)`: told
 * before each retry. */
export async function changeOnce(method, path, body, {
  attempts = 5, delayMs = 250, key = uid(), onRetry = null,
} = {}) {
  const headers = { 'Idempotency-Key': key };
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await api(method, path, body, headers);
    } catch (error) {
      if (!isRetriable(error) || attempt >= attempts) throw error;
      onRetry?.(error);
      const backoff = delayMs * 2 ** (attempt - 1);
      const wait = error.retryAfterS === null || error.retryAfterS === undefined
        ? backoff : Math.min(error.retryAfterS * 1000, 4 * backoff);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

/** A random id (crypto.randomUUID where the page is a secure context). */
export function uid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
