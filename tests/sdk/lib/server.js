// Starts a scopegate server on loopback with a fresh SQLite data directory
// and an API key for organization "sdk" in its staging environment.

import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const PACKAGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_BINARY = resolve(PACKAGE_DIR, '../../target/release/scopegate');

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const COMMAND_TIMEOUT_MS = 30_000;
const LISTENING_PATTERN = /listening.*\baddress=127\.0\.0\.1:(\d+)/;
// Matches the ANSI color sequences a terminal-aware logger may add.
const ANSI_ESCAPE = /\u001b\[[0-9;]*m/g;

/** Returns the scopegate binary: SCOPEGATE_BIN, or the release build. */
export function scopegateBinary() {
  const binary = process.env.SCOPEGATE_BIN
    ? resolve(PACKAGE_DIR, process.env.SCOPEGATE_BIN)
    : DEFAULT_BINARY;
  if (!existsSync(binary)) {
    throw new Error(
      `scopegate binary not found at ${binary}; run \`cargo build --release\` in the ` +
        'repository root or set SCOPEGATE_BIN to the binary',
    );
  }
  return binary;
}

function serverEnvironment(dataDir) {
  const env = {
    ...process.env,
    SCOPEGATE_DATA_DIR: dataDir,
    SCOPEGATE_LISTEN: '127.0.0.1:0',
    SCOPEGATE_CONNECTION_TEST_ALLOW: '127.0.0.1/32',
    NO_COLOR: '1',
  };
  // The embedded SQLite store under SCOPEGATE_DATA_DIR is used only when
  // DATABASE_URL is unset.
  delete env.DATABASE_URL;
  return env;
}

async function createApiKey(binary, env) {
  const { stdout } = await execFileAsync(
    binary,
    ['api-keys', 'create', '--org', 'sdk', '--env', 'staging'],
    { env, timeout: COMMAND_TIMEOUT_MS },
  );
  const apiKey = stdout.trim();
  if (!apiKey) {
    throw new Error('`scopegate api-keys create` printed no key on standard output');
  }
  return apiKey;
}

function waitForPort(child, output) {
  return new Promise((resolvePort, rejectPort) => {
    let pending = '';

    const timer = setTimeout(() => {
      finish(new Error(`timed out after ${START_TIMEOUT_MS} ms waiting for scopegate to log its listening address:\n${output.text}`));
    }, START_TIMEOUT_MS);

    function finish(error, port) {
      clearTimeout(timer);
      child.stderr.off('data', onData);
      child.off('exit', onExit);
      if (error) {
        rejectPort(error);
      } else {
        resolvePort(port);
      }
    }

    function onData(chunk) {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) {
        const match = line.replace(ANSI_ESCAPE, '').match(LISTENING_PATTERN);
        if (match) {
          finish(null, Number(match[1]));
          return;
        }
      }
    }

    function onExit(code, signal) {
      finish(new Error(`scopegate serve exited (code ${code}, signal ${signal}) before listening:\n${output.text}`));
    }

    child.stderr.on('data', onData);
    child.on('exit', onExit);
  });
}

function waitForExit(child, timeoutMs) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve(true);
  }
  return new Promise((resolveExit) => {
    const timer = setTimeout(() => resolveExit(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolveExit(true);
    });
  });
}

/**
 * Starts `scopegate serve` and returns {baseUrl, apiKey, stop()}.
 *
 * The server's standard error is kept for failure messages and also copied
 * to this process's standard error when SDK_TEST_SERVER_LOG=1.
 */
export async function startServer() {
  const binary = scopegateBinary();
  const dataDir = await mkdtemp(join(tmpdir(), 'scopegate-sdk-'));
  const env = serverEnvironment(dataDir);

  let child;
  try {
    const apiKey = await createApiKey(binary, env);

    child = spawn(binary, ['serve'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    const output = { text: '' };
    child.stderr.on('data', (chunk) => {
      output.text += chunk.toString('utf8');
      if (process.env.SDK_TEST_SERVER_LOG === '1') {
        process.stderr.write(chunk);
      }
    });
    const port = await waitForPort(child, output);

    const server = {
      baseUrl: `http://127.0.0.1:${port}`,
      apiKey,
      async stop() {
        child.kill('SIGTERM');
        if (!(await waitForExit(child, STOP_TIMEOUT_MS))) {
          child.kill('SIGKILL');
          await waitForExit(child, STOP_TIMEOUT_MS);
        }
        await rm(dataDir, { recursive: true, force: true });
      },
    };
    return server;
  } catch (error) {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await waitForExit(child, STOP_TIMEOUT_MS);
    }
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}
