// Destinations built the way the SDK's form builds them, and checks of the
// ExistingDestination type that the hooks promise.

import assert from 'node:assert/strict';

import { useCreateDestination } from '@prequel/react';

import { APP_ID, tokenFetcher } from './backend.js';

/** Local PostgreSQL that the connection tests reach, with trust auth. */
export const LOCAL_POSTGRES = Object.freeze({ host: '127.0.0.1', port: 5432, database: 'test' });

/**
 * Returns a PreparedDestination for vendor "postgres", shaped like the
 * output of prepareDestinationWithForm, without the `type` field that
 * the hooks strip before sending. `password: null` leaves the password out.
 * Other keys besides `name` override fields of the `postgres` sub-object.
 */
export function postgresDestination(overrides = {}) {
  const { name = 'Warehouse', password = 'sdk-test-password', ...postgres } = overrides;
  const passwordAuth = { username: 'postgres' };
  if (password !== null) {
    passwordAuth.password = password;
  }
  return {
    vendor: 'postgres',
    name,
    enabled_models: [],
    frequency_minutes: 60,
    is_enabled: true,
    postgres: {
      host: LOCAL_POSTGRES.host,
      port: LOCAL_POSTGRES.port,
      database: LOCAL_POSTGRES.database,
      schema: 'public',
      auth_method: 'password_auth',
      password_auth: passwordAuth,
      ...postgres,
    },
  };
}

/**
 * Creates a destination for `tenant` through useCreateDestination and
 * returns data.destination. Throws with the server's response unless it
 * succeeded.
 */
export async function createDestination(server, tenant, destination) {
  const create = useCreateDestination(tokenFetcher(server, tenant), APP_ID, server.baseUrl);
  const response = await create(destination);
  if (response?.status !== 'success' || !response.data?.destination) {
    throw new Error(`useCreateDestination failed: ${JSON.stringify(response)}`);
  }
  return response.data.destination;
}

/** Returns the dotted paths of every key named "password" in `value`. */
export function passwordKeyPaths(value, path = '') {
  if (Array.isArray(value)) {
    return value.flatMap((item, index) => passwordKeyPaths(item, `${path}[${index}]`));
  }
  if (value === null || typeof value !== 'object') {
    return [];
  }
  return Object.entries(value).flatMap(([key, child]) => {
    const childPath = path ? `${path}.${key}` : key;
    const own = key === 'password' ? [childPath] : [];
    return [...own, ...passwordKeyPaths(child, childPath)];
  });
}

function assertTimestamp(value, field) {
  assert.equal(typeof value, 'string', `${field} must be a string`);
  assert.ok(!Number.isNaN(Date.parse(value)), `${field} must be a timestamp, got ${value}`);
}

/**
 * Asserts the ExistingDestination fields of a postgres destination and that
 * it matches the PreparedDestination it was created from, without secrets.
 */
export function assertExistingPostgresDestination(actual, expected) {
  assert.equal(typeof actual.id, 'string', 'id must be a string');
  assert.ok(actual.id.length > 0, 'id must not be empty');
  assert.equal(actual.vendor, 'postgres');
  assert.equal(actual.name, expected.name);
  assert.equal(actual.is_enabled, expected.is_enabled);
  assert.equal(actual.frequency_minutes, expected.frequency_minutes);
  assert.deepEqual(actual.enabled_models, expected.enabled_models);
  assert.ok(Array.isArray(actual.products), `products must be an array, got ${JSON.stringify(actual.products)}`);
  assert.ok(
    actual.last_successful_transfer_ended_at === null || typeof actual.last_successful_transfer_ended_at === 'string',
    `last_successful_transfer_ended_at must be null or a string, got ${JSON.stringify(actual.last_successful_transfer_ended_at)}`,
  );
  assertTimestamp(actual.created_at, 'created_at');
  assertTimestamp(actual.updated_at, 'updated_at');

  assert.equal(typeof actual.postgres, 'object', 'the postgres sub-object is missing');
  assert.equal(actual.postgres.host, expected.postgres.host);
  assert.equal(actual.postgres.port, expected.postgres.port);
  assert.equal(actual.postgres.database, expected.postgres.database);
  assert.equal(actual.postgres.schema, expected.postgres.schema);
  assert.equal(actual.postgres.auth_method, 'password_auth');
  assert.equal(actual.postgres.password_auth?.username, expected.postgres.password_auth.username);

  assert.deepEqual(passwordKeyPaths(actual), [], 'the destination must carry no password key');
  const secret = expected.postgres.password_auth.password;
  if (secret) {
    assert.ok(!JSON.stringify(actual).includes(secret), 'the destination must not contain the password value');
  }
}
