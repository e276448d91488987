// Connection tests: useTestConnection and useTestExistingConnection against
// the local PostgreSQL on 127.0.0.1:5432 (trust auth, database "test").

import '../lib/setup.js';

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { useTestConnection, useTestExistingConnection } from '@prequel/react';

import { APP_ID, tokenFetcher } from '../lib/backend.js';
import { createDestination, postgresDestination } from '../lib/destinations.js';
import { startServer } from '../lib/server.js';

const TEST_TIMEOUT_MS = 45_000;

describe('connection hooks', { timeout: 180_000 }, () => {
  let server;

  before(async () => {
    server = await startServer();
  }, { timeout: 60_000 });

  after(async () => {
    await server?.stop();
  }, { timeout: 30_000 });

  it('useTestConnection reaches local postgres', { timeout: TEST_TIMEOUT_MS }, async () => {
    const test = useTestConnection(tokenFetcher(server, 'tenant-connection'), APP_ID, server.baseUrl);

    const response = await test(postgresDestination({ name: 'Local test', password: null }));

    assert.equal(response.status, 'success', `response: ${JSON.stringify(response)}`);
    assert.equal(response.data?.status, 'success', `response: ${JSON.stringify(response)}`);
  });

  it('useTestConnection reports missing database', { timeout: TEST_TIMEOUT_MS }, async () => {
    const test = useTestConnection(tokenFetcher(server, 'tenant-connection'), APP_ID, server.baseUrl);
    const destination = postgresDestination({ name: 'Local missing', password: null, database: 'no_such_database' });

    const response = await test(destination);

    assert.equal(response.data?.status, 'error', `response: ${JSON.stringify(response)}`);
    assert.equal(typeof response.data?.error?.error_code, 'string', `response: ${JSON.stringify(response)}`);
    assert.ok(response.data.error.error_code.length > 0, 'error_code must not be empty');
  });

  it('useTestExistingConnection tests saved destination', { timeout: TEST_TIMEOUT_MS }, async () => {
    const tenant = 'tenant-existing-connection';
    // The saved destination has a password, which trust auth ignores.
    const existing = await createDestination(server, tenant, postgresDestination({ name: 'Local saved' }));
    const test = useTestExistingConnection(tokenFetcher(server, tenant), APP_ID, server.baseUrl);

    const response = await test(existing, existing);

    assert.equal(response.status, 'success', `response: ${JSON.stringify(response)}`);
    assert.equal(response.data?.status, 'success', `response: ${JSON.stringify(response)}`);
  });
});
