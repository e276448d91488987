// Child processes that log `listening address=127.0.0.1:PORT` on standard
// error once they serve: scopegate and the backend proxy.

import { spawn } from 'node:child_process';

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const LISTENING_PATTERN = /listening.*\baddress=127\.0\.0\.1:(\d+)/;
// Matches the ANSI color sequences a terminal-aware logger may add.
const ANSI_ESCAPE = /\u001b\[[0-9;]*m/g;

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

/** Sends SIGTERM, then SIGKILL if the child has not exited in time. */
export async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  child.kill('SIGTERM');
  if (!(await waitForExit(child, STOP_TIMEOUT_MS))) {
    child.kill('SIGKILL');
    await waitForExit(child, STOP_TIMEOUT_MS);
  }
}

/**
 * Starts `binary args` and resolves with {child, port, log()} once it logs
 * its listening address. `log()` returns its standard error so far, which
 * is also copied to this process's standard error when E2E_SERVER_LOG=1.
 */
export async function startListeningProcess(label, binary, args, env) {
  const child = spawn(binary, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr.on('data', (chunk) => {
    output += chunk.toString('utf8');
    if (process.env.E2E_SERVER_LOG === '1') {
      process.stderr.write(`[${label}] ${chunk}`);
    }
  });

  try {
    const port = await new Promise((resolvePort, rejectPort) => {
      let pending = '';
      const timer = setTimeout(() => {
        finish(new Error(`${label} did not log its listening address within ${START_TIMEOUT_MS} ms:\n${output}`));
      }, START_TIMEOUT_MS);

      function finish(error, value) {
        clearTimeout(timer);
        child.stderr.off('data', onData);
        child.off('exit', onExit);
        child.off('error', onError);
        if (error) {
          rejectPort(error);
        } else {
          resolvePort(value);
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
        finish(new Error(`${label} exited (code ${code}, signal ${signal}) before listening:\n${output}`));
      }

      function onError(error) {
        finish(new Error(`${label} could not start: ${error.message}`));
      }

      child.stderr.on('data', onData);
      child.on('exit', onExit);
      child.on('error', onError);
    });
    return { child, port, log: () => output };
  } catch (error) {
    await stopChild(child);
    throw error;
  }
}
