// Global setup shared by every test file. Import it before anything else.
//
// - `window` is defined because @prequel/react's dist/types/pagination.js
//   calls window.btoa and window.atob.
// - IS_REACT_ACT_ENVIRONMENT = true makes React 18 expect state updates
//   inside act() and warn about updates outside it.
// - fetch is wrapped so that every request, from the hooks or from the test
//   backend, goes only to 127.0.0.1, ends within REQUEST_TIMEOUT_MS and is
//   recorded with its response for assertions and failure messages.

globalThis.window = globalThis;
globalThis.IS_REACT_ACT_ENVIRONMENT = true;

const REQUEST_TIMEOUT_MS = 20_000;
const ALLOWED_HOSTNAME = '127.0.0.1';

const originalFetch = globalThis.fetch;

/** Requests sent through fetch, oldest first: {method, url, status, body}. */
export const requestLog = [];

globalThis.fetch = async function guardedFetch(input, init = {}) {
  const url = new URL(input instanceof Request ? input.url : String(input));
  if (url.hostname !== ALLOWED_HOSTNAME) {
    throw new Error(
      `request to ${url.origin} rejected: the tests send requests only to ${ALLOWED_HOSTNAME}; ` +
        'pass the server address as the hook host argument',
    );
  }

  const signal = init.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  const method = init.method ?? 'GET';
  const response = await originalFetch(input, { ...init, signal });
  const body = await response.clone().text();
  requestLog.push({ method, url: url.toString(), status: response.status, body });
  return response;
};

/** Returns the most recent logged request whose method and path match. */
export function lastRequest(method, pathname) {
  for (let index = requestLog.length - 1; index >= 0; index -= 1) {
    const entry = requestLog[index];
    if (entry.method === method && new URL(entry.url).pathname === pathname) {
      return entry;
    }
  }
  return undefined;
}
