// Model and product hooks: useModels, useProducts (rendered with
// react-test-renderer) and useGetModelsForRecipient.

import '../lib/setup.js';

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { useGetModelsForRecipient, useModels, useProducts } from '@prequel/react';

import { APP_ID, createModel, createProduct, setRecipientProducts, tokenFetcher } from '../lib/backend.js';
import { createDestination, postgresDestination } from '../lib/destinations.js';
import { waitForHookValue } from '../lib/render.js';
import { startServer } from '../lib/server.js';

const TEST_TIMEOUT_MS = 30_000;
const TENANT = 'tenant-catalog';
const PRODUCT_NAME = 'billing';

function column(name, dataType, { primaryKey = false, lastModified = false } = {}) {
  return {
    name_in_source: name,
    name_in_destination: name,
    data_type: dataType,
    is_primary_key: primaryKey,
    is_last_modified: lastModified,
    description: `${name} column`,
  };
}

function modelConfig(modelName, sourceTable) {
  return {
    model_name: modelName,
    description: `${modelName} of every organization`,
    columns: [
      column('id', 'text', { primaryKey: true }),
      column('organization_id', 'text'),
      column('updated_at', 'timestamp', { lastModified: true }),
    ],
    source_table: sourceTable,
    source_schema: 'public',
    organization_column: 'organization_id',
  };
}

const MODELS = [
  modelConfig('orders', 'orders_table'),
  modelConfig('customers', 'customers_table'),
  modelConfig('invoices', 'invoices_table'),
];
const PRODUCT_MODELS = ['orders', 'invoices'];

const COLUMN_FIELDS = ['name_in_source', 'name_in_destination', 'data_type', 'is_primary_key', 'is_last_modified', 'description'];

/** Keeps the ModelConfigColumn fields of each column, so extra fields do not fail a comparison. */
function columnFields(columns) {
  assert.ok(Array.isArray(columns), `columns must be an array, got ${JSON.stringify(columns)}`);
  return columns.map((item) => Object.fromEntries(COLUMN_FIELDS.map((field) => [field, item[field]])));
}

function modelNames(models) {
  assert.ok(Array.isArray(models), `expected an array of models, got ${JSON.stringify(models)}`);
  return models.map((model) => model.model_name).sort();
}

describe('catalog hooks', { timeout: 180_000 }, () => {
  let server;
  let recipientId;

  before(async () => {
    server = await startServer();
    for (const model of MODELS) {
      await createModel(server, model);
    }
    await createProduct(server, PRODUCT_NAME, PRODUCT_MODELS);
    // Creating a destination is how the tenant's recipient id becomes known.
    const destination = await createDestination(server, TENANT, postgresDestination({ name: 'Catalog' }));
    recipientId = destination.recipient_id;
  }, { timeout: 60_000 });

  after(async () => {
    await server?.stop();
  }, { timeout: 30_000 });

  it('useModels lists every model', { timeout: TEST_TIMEOUT_MS }, async () => {
    const fetchToken = tokenFetcher(server, TENANT);

    const models = await waitForHookValue(() => useModels(fetchToken, APP_ID, server.baseUrl), {
      request: { method: 'GET', pathname: '/export/models' },
    });

    assert.deepEqual(modelNames(models), ['customers', 'invoices', 'orders']);
    for (const expected of MODELS) {
      const actual = models.find((model) => model.model_name === expected.model_name);
      assert.equal(actual.description, expected.description, `${expected.model_name}.description`);
      assert.equal(actual.source_table, expected.source_table, `${expected.model_name}.source_table`);
      assert.equal(actual.source_schema, expected.source_schema, `${expected.model_name}.source_schema`);
      assert.equal(actual.organization_column, expected.organization_column, `${expected.model_name}.organization_column`);
      assert.deepEqual(columnFields(actual.columns), expected.columns, `${expected.model_name}.columns`);
    }
  });

  it('useProducts lists product models', { timeout: TEST_TIMEOUT_MS }, async () => {
    const fetchToken = tokenFetcher(server, TENANT);

    const products = await waitForHookValue(() => useProducts(fetchToken, APP_ID, server.baseUrl), {
      request: { method: 'GET', pathname: '/export/products' },
    });

    assert.ok(Array.isArray(products), `expected an array of products, got ${JSON.stringify(products)}`);
    assert.deepEqual(products.map((product) => product.product_name), [PRODUCT_NAME]);
    assert.deepEqual([...products[0].models].sort(), [...PRODUCT_MODELS].sort());
  });

  // The two cases below run in order: the second assigns the product.
  it('useGetModelsForRecipient lists all without products', { timeout: TEST_TIMEOUT_MS }, async () => {
    const getModels = useGetModelsForRecipient(tokenFetcher(server, TENANT), APP_ID, server.baseUrl);

    const models = await getModels();

    assert.deepEqual(modelNames(models), ['customers', 'invoices', 'orders']);
  });

  it('useGetModelsForRecipient lists product models', { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.equal(typeof recipientId, 'string', 'the created destination has no recipient_id');
    await setRecipientProducts(server, recipientId, [PRODUCT_NAME]);
    const getModels = useGetModelsForRecipient(tokenFetcher(server, TENANT), APP_ID, server.baseUrl);

    const models = await getModels();

    assert.deepEqual(modelNames(models), [...PRODUCT_MODELS].sort());
    const orders = models.find((model) => model.model_name === 'orders');
    assert.deepEqual(columnFields(orders.columns), MODELS[0].columns);
  });
});
