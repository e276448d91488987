// The first party's backend as the tests play it. It has the API key, mints
// scoped tokens for one tenant and seeds data through API-key routes.

/** Origin the backend names when it mints a token. */
export const APPLICATION_ORIGIN = 'http://localhost:3000';
/** X-APP-ID value the hooks send, matching APPLICATION_ORIGIN. */
export const APP_ID = 'localhost:3000';

/**
 * Sends an API-key request and returns {httpStatus, body}.
 * `body` is the parsed JSON response body.
 */
export async function apiKeyRequest(server, method, path, payload) {
  const headers = { 'X-API-KEY': server.apiKey };
  const init = { method, headers };
  if (payload !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(payload);
  }
  const response = await fetch(`${server.baseUrl}${path}`, init);
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${method} ${path} returned HTTP ${response.status} with a body that is not JSON: ${text.slice(0, 300)}`);
  }
  return { httpStatus: response.status, body };
}

/** Sends an API-key request and returns `data`, or throws unless it succeeded. */
export async function apiKeyData(server, method, path, payload) {
  const { httpStatus, body } = await apiKeyRequest(server, method, path, payload);
  if (body.status !== 'success') {
    throw new Error(`${method} ${path} failed with HTTP ${httpStatus}: ${JSON.stringify(body)}`);
  }
  return body.data;
}

/**
 * Mints a scoped token for `tenant`. The tenant is set here, overwriting any
 * id_in_provider_system in `destination`, as a backend that takes the
 * customer from its own session does. No destination yields a GET-scope
 * token.
 */
export async function mintToken(server, tenant, destination) {
  const data = await apiKeyData(server, 'POST', '/actions/generate-scoped-auth-token', {
    application_origin: APPLICATION_ORIGIN,
    destination: { ...(destination ?? {}), id_in_provider_system: tenant },
  });
  if (typeof data?.scoped_token !== 'string' || data.scoped_token === '') {
    throw new Error(`token mint returned no data.scoped_token: ${JSON.stringify(data)}`);
  }
  return data.scoped_token;
}

/** Returns a `fetchToken` function for the hooks that mints for `tenant`. */
export function tokenFetcher(server, tenant) {
  return (destination) => mintToken(server, tenant, destination);
}

/** Creates a model and returns data.model. */
export async function createModel(server, model) {
  const data = await apiKeyData(server, 'POST', '/models', model);
  return data.model;
}

/** Creates a product over existing model names and returns data.product. */
export async function createProduct(server, productName, modelNames) {
  const data = await apiKeyData(server, 'POST', '/products', {
    product_name: productName,
    models: modelNames,
  });
  return data.product;
}

/** Replaces the products a recipient receives. */
export async function setRecipientProducts(server, recipientId, productNames) {
  return apiKeyData(server, 'PATCH', `/recipients/${recipientId}`, { products: productNames });
}

/** Records a transfer for a destination and returns data.transfer. */
export async function recordTransfer(server, destinationId, transfer) {
  const data = await apiKeyData(server, 'POST', `/destinations/${destinationId}/transfers`, transfer);
  return data.transfer;
}

/** Updates a transfer and returns data.transfer. */
export async function updateTransfer(server, transferId, changes) {
  const data = await apiKeyData(server, 'PATCH', `/transfers/${transferId}`, changes);
  return data.transfer;
}

/** Lists a tenant's destinations through the API key. */
export async function destinationsForTenant(server, tenant) {
  const query = new URLSearchParams({ id_in_provider_system: tenant });
  const data = await apiKeyData(server, 'GET', `/destinations-for-recipient?${query}`);
  return data.destinations;
}
