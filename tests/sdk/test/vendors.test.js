// Public vendor hooks, rendered with react-test-renderer:
// useDestinationVendors and useDestinationForm, with prepareDestinationWithForm
// building a destination from the form.

import '../lib/setup.js';

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  getDefaultDestination,
  prepareDestinationWithForm,
  useCreateDestination,
  useDestinationForm,
  useDestinationVendors,
} from '@prequel/react';

import { APP_ID, tokenFetcher } from '../lib/backend.js';
import { assertExistingPostgresDestination, LOCAL_POSTGRES } from '../lib/destinations.js';
import { waitForHookValue } from '../lib/render.js';
import { startServer } from '../lib/server.js';

const TEST_TIMEOUT_MS = 30_000;
const FORM_PATH = '/public/forms/destination-vendors';
// Fields that prepareDestinationWithForm keeps at the top level of a
// destination (TOP_LEVEL_DESTINATION_FIELDS in @prequel/react 1.1.0).
const TOP_LEVEL_FIELDS = ['vendor', 'name', 'recipient_id', 'enabled_models', 'frequency_minutes', 'is_enabled'];
const FORM_ELEMENTS = ['input', 'textarea', 'radio', 'select', 'div'];

/** Flat form state as an SDK user's form keeps it, for vendor postgres. */
const FORM_STATE = Object.freeze({
  ...getDefaultDestination(),
  vendor: 'postgres',
  auth_method: 'password_auth',
  name: 'Form warehouse',
  host: LOCAL_POSTGRES.host,
  port: String(LOCAL_POSTGRES.port),
  database: LOCAL_POSTGRES.database,
  schema: 'public',
  username: 'postgres',
  password: 'form-secret-1',
  frequency_minutes: 60,
});

function fieldsOf(form) {
  return form.flatMap((section) => section.fields);
}

describe('vendor hooks', { timeout: 180_000 }, () => {
  let server;

  before(async () => {
    server = await startServer();
  }, { timeout: 60_000 });

  after(async () => {
    await server?.stop();
  }, { timeout: 30_000 });

  function renderPostgresForm() {
    // An empty orgId makes the hook send no org_id query parameter.
    return waitForHookValue(() => useDestinationForm(FORM_STATE, '', { host: server.baseUrl }), {
      request: { method: 'GET', pathname: FORM_PATH },
    });
  }

  it('useDestinationVendors lists vendors', { timeout: TEST_TIMEOUT_MS }, async () => {
    const vendors = await waitForHookValue(() => useDestinationVendors(server.baseUrl), {
      request: { method: 'GET', pathname: '/public/destination-vendors' },
    });

    assert.ok(Array.isArray(vendors), `expected an array of vendors, got ${JSON.stringify(vendors)}`);
    const keys = vendors.map((vendor) => vendor.key);
    for (const key of ['postgres', 'snowflake', 'bigquery', 's3']) {
      assert.ok(keys.includes(key), `vendor ${key} is missing from ${JSON.stringify(keys)}`);
    }
    for (const vendor of vendors) {
      assert.equal(typeof vendor.key, 'string', `key of ${JSON.stringify(vendor)}`);
      assert.equal(typeof vendor.display, 'string', `display of ${JSON.stringify(vendor)}`);
      assert.ok(vendor.display.length > 0, `display of ${vendor.key} is empty`);
      assert.ok(vendor.docs === undefined || typeof vendor.docs === 'string', `docs of ${vendor.key}`);
    }
  });

  it('useDestinationForm returns sections', { timeout: TEST_TIMEOUT_MS }, async () => {
    const form = await renderPostgresForm();

    assert.ok(Array.isArray(form), `expected an array of sections, got ${JSON.stringify(form)}`);
    assert.ok(form.length > 0, 'the form has no sections');
    for (const section of form) {
      assert.equal(typeof section.id, 'number', `id of section ${JSON.stringify(section.title)}`);
      assert.equal(typeof section.title, 'string', `title of section ${section.id}`);
      assert.ok(section.fields.length > 0, `section ${section.id} has no fields`);
      for (const field of section.fields) {
        assert.equal(field.section_id, section.id, `section_id of ${field.prepared_destination_path}`);
        assert.ok(FORM_ELEMENTS.includes(field.form_element), `form_element of ${field.prepared_destination_path}: ${field.form_element}`);
      }
    }
  });

  it('useDestinationForm nests postgres paths', { timeout: TEST_TIMEOUT_MS }, async () => {
    const fields = fieldsOf(await renderPostgresForm());
    const paths = fields.map((field) => field.prepared_destination_path);

    for (const path of [
      'postgres.host',
      'postgres.port',
      'postgres.database',
      'postgres.schema',
      'postgres.password_auth.username',
      'postgres.password_auth.password',
    ]) {
      assert.ok(paths.includes(path), `field ${path} is missing from ${JSON.stringify(paths)}`);
    }
    for (const path of paths.filter((item) => !TOP_LEVEL_FIELDS.includes(item))) {
      assert.match(path, /^postgres\./);
    }
    const password = fields.find((field) => field.prepared_destination_path === 'postgres.password_auth.password');
    assert.equal(password.form_element, 'input');
    assert.equal(password.input_type, 'password');
  });

  it('useDestinationForm offers postgres vendor', { timeout: TEST_TIMEOUT_MS }, async () => {
    const fields = fieldsOf(await renderPostgresForm());
    const vendor = fields.find((field) => field.prepared_destination_path === 'vendor');

    assert.ok(vendor, 'the form has no vendor field');
    assert.ok(Array.isArray(vendor.enum), 'the vendor field has no enum');
    assert.ok(vendor.enum.some((option) => option.key === 'postgres'), 'the vendor enum lacks postgres');
  });

  it('prepareDestinationWithForm nests postgres', { timeout: TEST_TIMEOUT_MS }, async () => {
    const form = await renderPostgresForm();

    const prepared = prepareDestinationWithForm(FORM_STATE, form);

    assert.equal(prepared.vendor, 'postgres');
    assert.equal(prepared.name, 'Form warehouse');
    assert.equal(prepared.postgres?.host, LOCAL_POSTGRES.host);
    assert.equal(prepared.postgres?.port, LOCAL_POSTGRES.port);
    assert.equal(prepared.postgres?.database, LOCAL_POSTGRES.database);
    assert.equal(prepared.postgres?.schema, 'public');
    assert.equal(prepared.postgres?.auth_method, 'password_auth');
    assert.deepEqual(prepared.postgres?.password_auth, { username: 'postgres', password: 'form-secret-1' });
  });

  it('form destination creates via hook', { timeout: TEST_TIMEOUT_MS }, async () => {
    const prepared = prepareDestinationWithForm(FORM_STATE, await renderPostgresForm());
    const create = useCreateDestination(tokenFetcher(server, 'tenant-form'), APP_ID, server.baseUrl);

    const response = await create(prepared);

    assert.equal(response.status, 'success', `response: ${JSON.stringify(response)}`);
    assertExistingPostgresDestination(response.data.destination, prepared);
  });
});
