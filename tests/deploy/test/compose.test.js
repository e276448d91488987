// Checks docker-compose.yml against the Compose Specification JSON schema,
// as shipped in the dclint package, and checks the parts of the file that
// the README's Docker walk-through relies on. No container engine runs here.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import Ajv from 'ajv';
import { parse } from 'yaml';

const root = path.resolve(import.meta.dirname, '../../..');
const schemaPath = path.join(
  import.meta.dirname,
  '../node_modules/dclint/schemas/compose.schema.json',
);

function loadCompose() {
  return parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'));
}

function compileSchema() {
  const { $schema: draft, ...schema } = JSON.parse(readFileSync(schemaPath, 'utf8'));
  // Ajv's default class implements draft-07 under the meta-schema id
  // http://json-schema.org/draft-07/schema#, and the schema names the same
  // draft by its https URL, which Ajv does not know.
  assert.match(draft, /json-schema\.org\/draft-07\/schema/);
  // Unknown keywords still fail compilation (strictSchema). The schema
  // relies on union types and on `patternProperties` without
  // `type: object`, which Ajv's strictTypes would otherwise report.
  const ajv = new Ajv({ allErrors: true, allowUnionTypes: true, strictTypes: false });
  return ajv.compile(schema);
}

function describeErrors(errors) {
  return (errors ?? [])
    .map((error) => `${error.instancePath || '/'} ${error.message}`)
    .join('\n');
}

test('compose file matches the Compose Specification', () => {
  const validate = compileSchema();
  const valid = validate(loadCompose());
  assert.ok(valid, describeErrors(validate.errors));
});

test('schema rejects an unknown depends_on condition', () => {
  const validate = compileSchema();
  const compose = loadCompose();
  compose.services.scopegate.depends_on.postgres.condition = 'service_ready';
  assert.equal(validate(compose), false);
});

test('schema rejects an unknown service key', () => {
  const validate = compileSchema();
  const compose = loadCompose();
  compose.services.scopegate.healthcheck_command = 'scopegate healthcheck';
  assert.equal(validate(compose), false);
});

test('postgres has a health check and a named volume', () => {
  const compose = loadCompose();
  const postgres = compose.services.postgres;
  assert.ok(postgres.healthcheck?.test, 'postgres.healthcheck.test is missing');
  assert.ok(postgres.healthcheck.test.includes('pg_isready'));
  const [volume] = postgres.volumes[0].split(':');
  assert.ok(volume in compose.volumes, `volume ${volume} is not declared`);
});

test('scopegate waits for a healthy postgres', () => {
  const scopegate = loadCompose().services.scopegate;
  assert.equal(scopegate.depends_on?.postgres?.condition, 'service_healthy');
});

test('scopegate reads .env and keeps its data in a volume', () => {
  const compose = loadCompose();
  const scopegate = compose.services.scopegate;
  const envFiles = [scopegate.env_file].flat();
  assert.ok(envFiles.includes('.env'), `env_file is ${JSON.stringify(scopegate.env_file)}`);
  assert.match(scopegate.environment.DATABASE_URL, /^postgres:\/\/.*@postgres:5432\//);
  const mounts = scopegate.volumes.map((entry) => entry.split(':'));
  const data = mounts.find(([, target]) => target === '/var/lib/scopegate/data');
  assert.ok(data, 'no volume is mounted on /var/lib/scopegate/data');
  assert.ok(data[0] in compose.volumes, `volume ${data[0]} is not declared`);
});

test('scopegate publishes port 8080', () => {
  const ports = loadCompose().services.scopegate.ports.map(String);
  assert.ok(
    ports.some((port) => port.endsWith(':8080')),
    `ports are ${JSON.stringify(ports)}`,
  );
});

test('stop grace period outlasts the default shutdown timeout', () => {
  const grace = loadCompose().services.scopegate.stop_grace_period;
  const match = /^(\d+)s$/.exec(grace);
  assert.ok(match, `stop_grace_period ${grace} is not in whole seconds`);
  const defaultShutdownTimeout = 30;
  assert.ok(Number(match[1]) > defaultShutdownTimeout, `stop_grace_period is ${grace}`);
});

test('.env.example contains only comments and assignments', () => {
  const lines = readFileSync(path.join(root, '.env.example'), 'utf8').split('\n');
  lines.forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) {
      return;
    }
    assert.match(trimmed, /^[A-Z][A-Z0-9_]*=/, `line ${index + 1}: ${line}`);
  });
});
