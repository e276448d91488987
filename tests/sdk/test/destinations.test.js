// Destination hooks: useCreateDestination, useGetDestinations,
// useUpdateDestination and useDeleteDestination.

import '../lib/setup.js';

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  useCreateDestination,
  useDeleteDestination,
  useGetDestinations,
  useUpdateDestination,
} from '@prequel/react';

import { APP_ID, destinationsForTenant, mintToken, tokenFetcher } from '../lib/backend.js';
import {
  assertExistingPostgresDestination,
  createDestination,
  postgresDestination,
} from '../lib/destinations.js';
import { startServer } from '../lib/server.js';
import { lastRequest } from '../lib/setup.js';

const TEST_TIMEOUT_MS = 30_000;

describe('destination hooks', { timeout: 180_000 }, () => {
  let server;

  before(async () => {
    server = await startServer();
  }, { timeout: 60_000 });

  after(async () => {
    await server?.stop();
  }, { timeout: 30_000 });

  function listDestinations(tenant) {
    return useGetDestinations(tokenFetcher(server, tenant), APP_ID, server.baseUrl)();
  }

  it('api key is a staging key', () => {
    assert.match(server.apiKey, /^sk_staging_/);
  });

  it('useCreateDestination returns destination without password', { timeout: TEST_TIMEOUT_MS }, async () => {
    const prepared = postgresDestination({ name: 'Warehouse create', password: 'create-secret-1' });
    const create = useCreateDestination(tokenFetcher(server, 'tenant-create'), APP_ID, server.baseUrl);

    const response = await create(prepared);

    assert.equal(response.status, 'success', `response: ${JSON.stringify(response)}`);
    assert.ok(response.data?.destination, `data.destination is missing: ${JSON.stringify(response)}`);
    assertExistingPostgresDestination(response.data.destination, prepared);
    assert.ok(!JSON.stringify(response).includes('create-secret-1'), 'the response must not contain the password value');
  });

  it('useGetDestinations lists created destination', { timeout: TEST_TIMEOUT_MS }, async () => {
    const prepared = postgresDestination({ name: 'Warehouse list', password: 'list-secret-1' });
    const created = await createDestination(server, 'tenant-list', prepared);

    const destinations = await listDestinations('tenant-list');

    assert.ok(Array.isArray(destinations), `expected an array, got ${JSON.stringify(destinations)}`);
    assert.equal(destinations.length, 1);
    const listed = destinations.find((destination) => destination.id === created.id);
    assert.ok(listed, `destination ${created.id} is not listed: ${JSON.stringify(destinations)}`);
    assertExistingPostgresDestination(listed, prepared);
    assert.equal(listed.recipient_id, created.recipient_id);
  });

  it('api key list matches hook list', { timeout: TEST_TIMEOUT_MS }, async () => {
    const prepared = postgresDestination({ name: 'Warehouse api key' });
    const created = await createDestination(server, 'tenant-api-key', prepared);

    const fromApiKey = await destinationsForTenant(server, 'tenant-api-key');
    const fromHook = await listDestinations('tenant-api-key');

    assert.deepEqual(fromApiKey.map((destination) => destination.id), [created.id]);
    assert.deepEqual(fromHook.map((destination) => destination.id), [created.id]);
    assert.equal(fromApiKey[0].name, fromHook[0].name);
  });

  it('useUpdateDestination renames destination', { timeout: TEST_TIMEOUT_MS }, async () => {
    const tenant = 'tenant-rename';
    const created = await createDestination(server, tenant, postgresDestination({ name: 'Warehouse before' }));
    const [existing] = await listDestinations(tenant);
    const update = useUpdateDestination(tokenFetcher(server, tenant), APP_ID, server.baseUrl);

    const response = await update(existing, { ...existing, name: 'Warehouse after' });

    assert.equal(response.status, 'success', `response: ${JSON.stringify(response)}`);
    assert.equal(response.data?.destination?.id, created.id);
    assert.equal(response.data?.destination?.name, 'Warehouse after');
    assert.equal(response.data?.destination?.postgres?.host, existing.postgres.host);
    const listed = await listDestinations(tenant);
    assert.deepEqual(listed.map((destination) => destination.name), ['Warehouse after']);
    assert.equal(listed[0].id, created.id);
  });

  it('useUpdateDestination rejects host change', { timeout: TEST_TIMEOUT_MS }, async () => {
    const tenant = 'tenant-host';
    await createDestination(server, tenant, postgresDestination({ name: 'Warehouse host' }));
    const [existing] = await listDestinations(tenant);
    const update = useUpdateDestination(tokenFetcher(server, tenant), APP_ID, server.baseUrl);
    const changed = { ...existing, postgres: { ...existing.postgres, host: '127.0.0.2' } };

    const response = await update(existing, changed);

    assert.equal(response.status, 'error', `response: ${JSON.stringify(response)}`);
    assert.match(response.message, /host/, `response: ${JSON.stringify(response)}`);
    assert.equal(lastRequest('PATCH', `/export/destinations/${existing.id}`)?.status, 403);
    const [listed] = await listDestinations(tenant);
    assert.equal(listed.postgres.host, existing.postgres.host);
  });

  it('useDeleteDestination rejects foreign token', { timeout: TEST_TIMEOUT_MS }, async () => {
    const tenant = 'tenant-foreign-delete';
    const target = await createDestination(server, tenant, postgresDestination({ name: 'Warehouse target' }));
    await createDestination(server, tenant, postgresDestination({ name: 'Warehouse other' }));
    const listedBefore = await listDestinations(tenant);
    const existingTarget = listedBefore.find((destination) => destination.id === target.id);
    const existingOther = listedBefore.find((destination) => destination.id !== target.id);
    // The backend mints from the other destination, whatever the hook passes.
    const foreignToken = () => mintToken(server, tenant, existingOther);
    const remove = useDeleteDestination(foreignToken, APP_ID, server.baseUrl);

    const response = await remove(existingTarget);

    assert.equal(response.status, 'error', `response: ${JSON.stringify(response)}`);
    const httpStatus = lastRequest('DELETE', `/destinations/${target.id}`)?.status;
    assert.ok([401, 403].includes(httpStatus), `expected HTTP 401 or 403, got ${httpStatus}: ${JSON.stringify(response)}`);
    const listedAfter = await listDestinations(tenant);
    assert.ok(
      listedAfter.some((destination) => destination.id === target.id),
      'the target destination must still be listed',
    );
  });

  it('useDeleteDestination removes destination', { timeout: TEST_TIMEOUT_MS }, async () => {
    const tenant = 'tenant-delete';
    const target = await createDestination(server, tenant, postgresDestination({ name: 'Warehouse delete' }));
    const kept = await createDestination(server, tenant, postgresDestination({ name: 'Warehouse keep' }));
    const existingTarget = (await listDestinations(tenant)).find((destination) => destination.id === target.id);
    const remove = useDeleteDestination(tokenFetcher(server, tenant), APP_ID, server.baseUrl);

    const response = await remove(existingTarget);

    assert.equal(response.status, 'success', `response: ${JSON.stringify(response)}`);
    const listed = await listDestinations(tenant);
    assert.deepEqual(listed.map((destination) => destination.id), [kept.id]);
  });

  it('useGetDestinations isolates tenants', { timeout: TEST_TIMEOUT_MS }, async () => {
    const created = await createDestination(server, 'tenant-a', postgresDestination({ name: 'Warehouse A' }));

    const listedForA = await listDestinations('tenant-a');
    const listedForB = await listDestinations('tenant-b');

    assert.deepEqual(listedForA.map((destination) => destination.id), [created.id]);
    assert.deepEqual(listedForB, []);
  });
});
