// Client of the first party's backend (examples/backend-proxy). Every call
// sends the session cookie (`credentials: 'include'`), because the backend
// is another origin than this page.

const REQUEST_TIMEOUT_MS = 15_000;

/** Returns {login, logout, currentSession, fetchToken} for `proxyUrl`. */
export function createProxyClient(proxyUrl) {
  async function send(path, { method = 'GET', body } = {}) {
    const init = { method, credentials: 'include', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) };
    if (body !== undefined) {
      init.headers = { 'Content-Type': 'application/json' };
      init.body = JSON.stringify(body);
    }
    const response = await fetch(`${proxyUrl}${path}`, init);
    const payload = response.status === 204 ? null : await response.json().catch(() => null);
    return { status: response.status, ok: response.ok, payload };
  }

  function failure(action, result) {
    const reason = result.payload?.error ?? `HTTP ${result.status}`;
    return new Error(`${action}: ${reason}`);
  }

  return {
    /** Returns {username, tenant}, or null when no user is logged in. */
    async currentSession() {
      const result = await send('/session');
      if (result.status === 401) {
        return null;
      }
      if (!result.ok) {
        throw failure('could not read the session', result);
      }
      return result.payload;
    },

    /** Logs in and returns {username, tenant}; throws on wrong credentials. */
    async login(username, password) {
      const result = await send('/login', { method: 'POST', body: { username, password } });
      if (!result.ok) {
        throw failure('login failed', result);
      }
      return result.payload;
    },

    async logout() {
      const result = await send('/logout', { method: 'POST', body: {} });
      if (!result.ok) {
        throw failure('logout failed', result);
      }
    },

    /**
     * The SDK's fetchToken: sends the object the hook passes (nothing for
     * hooks that only read) and returns the scoped token. The backend sets
     * the tenant from the session, so nothing here names one.
     */
    async fetchToken(destination) {
      const result = await send('/auth-token', { method: 'POST', body: destination ?? {} });
      if (!result.ok) {
        throw failure('token request failed', result);
      }
      return result.payload.scoped_token;
    },
  };
}
