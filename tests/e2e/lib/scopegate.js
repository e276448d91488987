// scopegate on loopback with a fresh SQLite data directory and an API key
// for organization "demo" in its staging environment.

import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { scopegateBinary } from './paths.js';
import { startListeningProcess, stopChild } from './processes.js';

const execFileAsync = promisify(execFile);
const COMMAND_TIMEOUT_MS = 30_000;

/** Starts `scopegate serve` and returns {baseUrl, apiKey, stop()}. */
export async function startScopegate() {
  const binary = scopegateBinary();
  const dataDir = await mkdtemp(join(tmpdir(), 'scopegate-e2e-'));
  const env = {
    ...process.env,
    SCOPEGATE_DATA_DIR: dataDir,
    SCOPEGATE_LISTEN: '127.0.0.1:0',
    NO_COLOR: '1',
  };
  // The embedded SQLite store under SCOPEGATE_DATA_DIR is used only when
  // DATABASE_URL is unset, and CORS must rest on mints alone here.
  delete env.DATABASE_URL;
  delete env.SCOPEGATE_CORS_ORIGINS;

  try {
    const { stdout } = await execFileAsync(binary, ['api-keys', 'create', '--org', 'demo', '--env', 'staging'], {
      env,
      timeout: COMMAND_TIMEOUT_MS,
    });
    const apiKey = stdout.trim();
    if (!apiKey) {
      throw new Error('`scopegate api-keys create` printed no key on standard output');
    }

    const { child, port, log } = await startListeningProcess('scopegate', binary, ['serve'], env);
    return {
      baseUrl: `http://127.0.0.1:${port}`,
      apiKey,
      log,
      async stop() {
        await stopChild(child);
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}
