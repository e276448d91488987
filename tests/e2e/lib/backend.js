// Requests the tests send from Node: to scopegate with the API key (the
// first party's server view of a tenant), and to the backend proxy as a
// logged-in user.

const REQUEST_TIMEOUT_MS = 15_000;

async function readJson(response, requestLabel) {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${requestLabel} returned HTTP ${response.status} with a body that is not JSON: ${text.slice(0, 300)}`);
  }
}

/** Sends an API-key request to scopegate and returns `data`, or throws. */
export async function apiKeyData(scopegate, method, path, payload) {
  const init = { method, headers: { 'X-API-KEY': scopegate.apiKey }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) };
  if (payload !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(payload);
  }
  const response = await fetch(`${scopegate.baseUrl}${path}`, init);
  const body = await readJson(response, `${method} ${path}`);
  if (body.status !== 'success') {
    throw new Error(`${method} ${path} failed with HTTP ${response.status}: ${JSON.stringify(body)}`);
  }
  return body.data;
}

/** Returns a tenant's destinations as {id, name}, read with the API key. */
export async function destinationsOfTenant(scopegate, tenant) {
  const query = new URLSearchParams({ id_in_provider_system: tenant });
  const data = await apiKeyData(scopegate, 'GET', `/destinations-for-recipient?${query}`);
  return data.destinations.map(({ id, name }) => ({ id, name }));
}

/** Creates a postgres destination for `tenant` with the API key. */
export async function createDestinationForTenant(scopegate, tenant, name) {
  const data = await apiKeyData(scopegate, 'POST', '/destinations', {
    destination: {
      id_in_provider_system: tenant,
      vendor: 'postgres',
      name,
      postgres: {
        host: '127.0.0.1',
        port: 5432,
        database: 'analytics',
        schema: 'exports',
        auth_method: 'password_auth',
        password_auth: { username: 'loader', password: 'e2e-server-password' },
      },
    },
  });
  return { id: data.destination.id, name: data.destination.name };
}

/** Logs in at the proxy and returns the `name=value` session cookie. */
export async function proxyLogin(proxyUrl, user) {
  const response = await fetch(`${proxyUrl}/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: user.username, password: user.password }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  if (!response.ok) {
    throw new Error(`login of ${user.username} failed with HTTP ${response.status}`);
  }
  const setCookie = response.headers.get('set-cookie');
  if (!setCookie) {
    throw new Error(`login of ${user.username} set no cookie`);
  }
  return setCookie.split(';')[0];
}

/** Asks the proxy for a token, as the page's fetchToken does. */
export async function proxyToken(proxyUrl, cookie, destination = {}) {
  const response = await fetch(`${proxyUrl}/auth-token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Cookie: cookie },
    body: JSON.stringify(destination),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const body = await readJson(response, 'POST /auth-token');
  if (!response.ok) {
    throw new Error(`POST /auth-token failed with HTTP ${response.status}: ${JSON.stringify(body)}`);
  }
  return body.scoped_token;
}

/**
 * Sends GET /destinations-for-recipient with a scoped token and the given
 * X-APP-ID and Origin headers, and returns {status, body}.
 */
export async function listWithToken(scopegate, token, { appId, origin }) {
  const headers = { Authorization: `Bearer ${token}`, 'X-APP-ID': appId };
  if (origin !== undefined) {
    headers.Origin = origin;
  }
  const response = await fetch(`${scopegate.baseUrl}/destinations-for-recipient`, {
    headers,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  return { status: response.status, body: await readJson(response, 'GET /destinations-for-recipient') };
}

/** Sends a CORS preflight for GET with an Authorization header; returns the response headers. */
export async function preflight(scopegate, origin) {
  const response = await fetch(`${scopegate.baseUrl}/destinations-for-recipient`, {
    method: 'OPTIONS',
    headers: {
      Origin: origin,
      'Access-Control-Request-Method': 'GET',
      'Access-Control-Request-Headers': 'authorization,x-app-id',
    },
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  await response.arrayBuffer();
  return response.headers;
}
