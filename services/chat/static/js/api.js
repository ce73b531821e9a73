// HTTP to every service behind this origin. The HttpOnly session cookie does the signing
// in; the token from login is kept for this tab only, as a fallback when no cookie comes.

const TOKEN_KEY = 'tertulia.token';
let useBearer = false;
let onUnauthorized = () => {};

export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

/** The cookie is known missing (the socket had to authenticate by frame): use the token. */
export function preferBearer() {
  if (storedToken()) useBearer = true;
}

export function storedToken() {
  try { return sessionStorage.getItem(TOKEN_KEY); } catch { return null; }
}

export function storeToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch { /* storage may be unavailable */ }
  if (!token) useBearer = false;
}

async function problemOf(response) {
  let code = null;
  let detail = null;
  try {
    const body = await response.json();
    code = body.code || null;
    detail = body.detail || body.title || null;
    if (Array.isArray(body.errors) && body.errors.length && !body.detail) {
      const first = body.errors[0];
      detail = [first.loc && first.loc.slice(-1)[0], first.msg].filter(Boolean).join(': ');
    }
  } catch { /* not JSON */ }
  return new ApiError(response.status, code, detail || response.statusText);
}

/**
 * `api('/api/chat/rooms', {method: 'POST', body: {...}})`: the parsed JSON, `null` for 204,
 * or an ApiError. A 401 (other than a failed login) ends the session. `form` (a FormData)
 * is sent as multipart instead of a JSON `body`; `signal` aborts (an ApiError 'aborted').
 */
export async function api(path, { method = 'GET', body, form, signal, auth = true } = {}) {
  const send = async (bearer) => {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const token = storedToken();
    if (bearer && token) headers.Authorization = `Bearer ${token}`;
    try {
      return await fetch(path, {
        method, headers, credentials: 'same-origin', cache: 'no-store', signal,
        body: form !== undefined ? form : body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, signal?.aborted ? 'aborted' : 'network', null);
    }
  };
  let response = await send(useBearer);
  if (response.status === 401 && auth && !useBearer && storedToken()) {
    // No cookie arrived (blocked, or not kept): try the token this tab was given.
    const retried = await send(true);
    if (retried.status !== 401) useBearer = true;
    response = retried;
  }
  if (!response.ok) {
    const error = await problemOf(response);
    if (response.status === 401 && auth) onUnauthorized(error);
    throw error;
  }
  if (response.status === 204) return null;
  const type = response.headers.get('content-type') || '';
  return type.includes('json') ? response.json() : null;
}
