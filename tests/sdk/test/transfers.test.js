// Transfer hooks: useGetTransfers (count and status filters) and
// useListTransfers (page_size and cursor pagination).

import '../lib/setup.js';

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { useGetTransfers, useListTransfers } from '@prequel/react';

import { APP_ID, recordTransfer, tokenFetcher, updateTransfer } from '../lib/backend.js';
import { createDestination, postgresDestination } from '../lib/destinations.js';
import { startServer } from '../lib/server.js';

const TEST_TIMEOUT_MS = 30_000;
const TENANT = 'tenant-transfers';
// useListTransfers is called at most this many times per listing.
const MAX_PAGES = 20;

const MODEL_ID = randomUUID();

function metricsFor(modelName, rows, volume, lastUpdatedAt) {
  return [
    {
      model_name: modelName,
      model_id: MODEL_ID,
      rows_transferred: rows,
      volume_transferred_in_mb: volume,
      most_recent_last_updated_at: lastUpdatedAt,
    },
  ];
}

function sameInstant(actual, expected, field) {
  assert.equal(typeof actual, 'string', `${field} must be a string, got ${JSON.stringify(actual)}`);
  assert.equal(Date.parse(actual), Date.parse(expected), `${field}: ${actual} is not ${expected}`);
}

function ids(transfers) {
  assert.ok(Array.isArray(transfers), `expected an array of transfers, got ${JSON.stringify(transfers)}`);
  return transfers.map((transfer) => transfer.id);
}

describe('transfer hooks', { timeout: 180_000 }, () => {
  let server;
  let destination;
  let otherDestination;
  // Transfers of `destination` by name; `submitted_at` rises from first to fifth.
  const seeded = {};
  let otherTransfer;
  let newestFirst;

  before(async () => {
    server = await startServer();
    destination = await createDestination(server, TENANT, postgresDestination({ name: 'Transfers main' }));
    otherDestination = await createDestination(server, TENANT, postgresDestination({ name: 'Transfers other' }));

    seeded.first = await recordTransfer(server, destination.id, {
      status: 'SUCCESS',
      submitted_at: '2024-03-01T10:00:00Z',
      started_at: '2024-03-01T10:01:00Z',
      ended_at: '2024-03-01T10:05:00Z',
      rows_transferred: 100,
      volume_transferred_in_mb: 1.5,
      models: ['orders'],
      model_metrics: metricsFor('orders', 100, 1.5, '2024-03-01T09:59:00Z'),
      log: 'first transfer',
    });
    seeded.second = await recordTransfer(server, destination.id, {
      status: 'ERROR',
      submitted_at: '2024-03-01T10:10:00Z',
      started_at: '2024-03-01T10:11:00Z',
      ended_at: '2024-03-01T10:12:00Z',
      rows_transferred: 0,
      volume_transferred_in_mb: 0,
      models: ['orders'],
      model_metrics: metricsFor('orders', 0, 0, '2024-03-01T09:59:00Z'),
      log: 'second transfer',
    });
    seeded.third = await recordTransfer(server, destination.id, {
      status: 'SUCCESS',
      submitted_at: '2024-03-01T10:20:00Z',
      started_at: '2024-03-01T10:21:00Z',
      ended_at: '2024-03-01T10:25:00Z',
      rows_transferred: 300,
      volume_transferred_in_mb: 4.25,
      models: ['orders', 'customers'],
      model_metrics: metricsFor('orders', 300, 4.25, '2024-03-01T10:19:00Z'),
      log: 'third transfer',
    });

    // The fourth transfer moves PENDING -> RUNNING -> SUCCESS through PATCH.
    const pending = await recordTransfer(server, destination.id, {
      status: 'PENDING',
      submitted_at: '2024-03-01T10:30:00Z',
      models: ['orders'],
      log: '',
    });
    await updateTransfer(server, pending.id, { status: 'RUNNING', started_at: '2024-03-01T10:31:00Z' });
    seeded.fourth = await updateTransfer(server, pending.id, {
      status: 'SUCCESS',
      ended_at: '2024-03-01T10:40:00Z',
      rows_transferred: 400,
      volume_transferred_in_mb: 8,
      model_metrics: metricsFor('orders', 400, 8, '2024-03-01T10:29:00Z'),
      log: 'fourth transfer',
    });

    seeded.fifth = await recordTransfer(server, destination.id, {
      status: 'RUNNING',
      submitted_at: '2024-03-01T10:45:00Z',
      started_at: '2024-03-01T10:46:00Z',
      models: ['orders'],
      log: 'fifth transfer',
    });

    otherTransfer = await recordTransfer(server, otherDestination.id, {
      status: 'SUCCESS',
      submitted_at: '2024-03-01T10:50:00Z',
      started_at: '2024-03-01T10:51:00Z',
      ended_at: '2024-03-01T10:52:00Z',
      rows_transferred: 7,
      volume_transferred_in_mb: 0.5,
      models: ['orders'],
      log: 'other destination',
    });

    newestFirst = [seeded.fifth, seeded.fourth, seeded.third, seeded.second, seeded.first].map(
      (transfer) => transfer.id,
    );
  }, { timeout: 60_000 });

  after(async () => {
    await server?.stop();
  }, { timeout: 30_000 });

  function getTransfers(target, params) {
    return useGetTransfers(tokenFetcher(server, TENANT), APP_ID, server.baseUrl)(target, params);
  }

  function listTransfers(target, params) {
    return useListTransfers(tokenFetcher(server, TENANT), APP_ID, server.baseUrl)(target, params);
  }

  it('useGetTransfers lists newest first', { timeout: TEST_TIMEOUT_MS }, async () => {
    const transfers = await getTransfers(destination);

    assert.deepEqual(ids(transfers), newestFirst);
  });

  it('useGetTransfers returns Transfer fields', { timeout: TEST_TIMEOUT_MS }, async () => {
    const transfers = await getTransfers(destination);
    const first = transfers.find((transfer) => transfer.id === seeded.first.id);

    assert.ok(first, `transfer ${seeded.first.id} is missing`);
    assert.equal(first.destination_id, destination.id);
    assert.equal(typeof first.source_id, 'string');
    assert.equal(first.status, 'SUCCESS');
    assert.deepEqual(first.models, ['orders']);
    sameInstant(first.submitted_at, '2024-03-01T10:00:00Z', 'submitted_at');
    sameInstant(first.started_at, '2024-03-01T10:01:00Z', 'started_at');
    sameInstant(first.ended_at, '2024-03-01T10:05:00Z', 'ended_at');
    assert.equal(first.rows_transferred, 100);
    assert.equal(first.volume_transferred_in_mb, 1.5);
    assert.equal(first.log, 'first transfer');
    assert.ok(Array.isArray(first.model_metrics), 'model_metrics must be an array');
    assert.equal(first.model_metrics.length, 1);
    const [metrics] = first.model_metrics;
    assert.equal(metrics.model_name, 'orders');
    assert.equal(metrics.model_id, MODEL_ID);
    assert.equal(metrics.rows_transferred, 100);
    assert.equal(metrics.volume_transferred_in_mb, 1.5);
    sameInstant(metrics.most_recent_last_updated_at, '2024-03-01T09:59:00Z', 'most_recent_last_updated_at');
  });

  it('useGetTransfers shows patched transfer', { timeout: TEST_TIMEOUT_MS }, async () => {
    const transfers = await getTransfers(destination);
    const fourth = transfers.find((transfer) => transfer.id === seeded.fourth.id);

    assert.ok(fourth, `transfer ${seeded.fourth.id} is missing`);
    assert.equal(fourth.status, 'SUCCESS');
    sameInstant(fourth.submitted_at, '2024-03-01T10:30:00Z', 'submitted_at');
    sameInstant(fourth.started_at, '2024-03-01T10:31:00Z', 'started_at');
    sameInstant(fourth.ended_at, '2024-03-01T10:40:00Z', 'ended_at');
    assert.equal(fourth.rows_transferred, 400);
    assert.equal(fourth.volume_transferred_in_mb, 8);
    assert.equal(fourth.log, 'fourth transfer');
  });

  it('useGetTransfers honors count', { timeout: TEST_TIMEOUT_MS }, async () => {
    const transfers = await getTransfers(destination, { count: 2 });

    assert.deepEqual(ids(transfers), newestFirst.slice(0, 2));
  });

  it('useGetTransfers filters by status', { timeout: TEST_TIMEOUT_MS }, async () => {
    const transfers = await getTransfers(destination, { status: 'SUCCESS' });

    assert.deepEqual(ids(transfers), [seeded.fourth.id, seeded.third.id, seeded.first.id]);
    for (const transfer of transfers) {
      assert.equal(transfer.status, 'SUCCESS');
    }
  });

  it('useGetTransfers combines count and status', { timeout: TEST_TIMEOUT_MS }, async () => {
    const transfers = await getTransfers(destination, { count: 1, status: 'ERROR' });

    assert.deepEqual(ids(transfers), [seeded.second.id]);
  });

  it('useGetTransfers scopes to destination', { timeout: TEST_TIMEOUT_MS }, async () => {
    const transfers = await getTransfers(otherDestination);

    assert.deepEqual(ids(transfers), [otherTransfer.id]);
  });

  it('useListTransfers pages with cursor', { timeout: TEST_TIMEOUT_MS }, async () => {
    const pages = [];
    let cursor;
    for (let call = 0; call < MAX_PAGES; call += 1) {
      const page = await listTransfers(destination, { pageSize: 2, cursor });
      pages.push(page);
      if (!page.hasNext) {
        break;
      }
      assert.equal(typeof page.cursor, 'object', `page ${call + 1} has hasNext but no cursor`);
      assert.equal(page.cursor.lastSeenID, page.results.at(-1).id, `page ${call + 1} cursor must name its last transfer`);
      assert.notEqual(page.cursor.lastSeenSortValue, undefined, `page ${call + 1} cursor has no sort value`);
      cursor = page.cursor;
    }

    assert.deepEqual(pages.flatMap((page) => ids(page.results)), newestFirst);
    assert.deepEqual(pages.map((page) => ids(page.results)), [
      newestFirst.slice(0, 2),
      newestFirst.slice(2, 4),
      newestFirst.slice(4),
    ]);
    assert.deepEqual(pages.map((page) => page.hasNext), [true, true, false]);
    assert.equal(pages.at(-1).cursor, undefined);
  });

  it('useListTransfers fits one page', { timeout: TEST_TIMEOUT_MS }, async () => {
    const page = await listTransfers(destination, { pageSize: 10 });

    assert.deepEqual(ids(page.results), newestFirst);
    assert.equal(page.hasNext, false);
    assert.equal(page.cursor, undefined);
  });
});
