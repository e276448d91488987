// The example backend (examples/backend-proxy) on loopback.

import { join } from 'node:path';

import { proxyBinary, REPO_ROOT } from './paths.js';
import { startListeningProcess, stopChild } from './processes.js';

/**
 * Starts the backend proxy for the page served at `appOrigin` and returns
 * {baseUrl, stop()}. `unsafeTrustBrowserTenant` sets
 * UNSAFE_TRUST_BROWSER_TENANT=1.
 */
export async function startProxy({ scopegate, appOrigin, unsafeTrustBrowserTenant = false }) {
  const env = {
    ...process.env,
    PROXY_LISTEN: '127.0.0.1:0',
    SCOPEGATE_URL: scopegate.baseUrl,
    SCOPEGATE_API_KEY: scopegate.apiKey,
    APP_ORIGIN: appOrigin,
    UNSAFE_TRUST_BROWSER_TENANT: unsafeTrustBrowserTenant ? '1' : '0',
    USERS_FILE: join(REPO_ROOT, 'examples', 'backend-proxy', 'users.json'),
    NO_COLOR: '1',
  };
  // Each proxy signs its sessions with a key generated at start.
  delete env.SESSION_KEY;

  const label = unsafeTrustBrowserTenant ? 'unsafe proxy' : 'proxy';
  const { child, port, log } = await startListeningProcess(label, proxyBinary(), [], env);
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    log,
    stop: () => stopChild(child),
  };
}
