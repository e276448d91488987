// Debian's Chromium, driven by playwright-core, headless, each launch with a
// fresh profile.

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

import { screenshotDir } from './paths.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const LAUNCH_TIMEOUT_MS = 30_000;
// Limit of every Playwright action and wait, such as a click or a locator
// becoming visible.
const ACTION_TIMEOUT_MS = 15_000;

/**
 * Launches Chromium with a new user data directory and returns
 * {page, context, browserErrors, close()}. `browserErrors` collects the
 * page's uncaught errors and console errors, for failure messages.
 */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: install Debian's chromium package (apt-get install chromium)`);
  }
  const userDataDir = await mkdtemp(join(tmpdir(), 'scopegate-e2e-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: LAUNCH_TIMEOUT_MS,
      viewport: { width: 1100, height: 900 },
    });
  } catch (error) {
    await rm(userDataDir, { recursive: true, force: true });
    throw error;
  }
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);

  const page = context.pages()[0] ?? (await context.newPage());
  const browserErrors = [];
  page.on('pageerror', (error) => browserErrors.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') {
      browserErrors.push(`console: ${message.text()}`);
    }
  });

  return {
    page,
    context,
    browserErrors,
    async close() {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot as <target dir>/e2e/<name>.png. */
export async function screenshot(page, name) {
  const dir = screenshotDir();
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Records the CORS preflights Chromium sends from `page`, through the
 * DevTools protocol, and returns the live array of {url, status,
 * allowOrigin}. A preflight that got no response keeps status null.
 */
export async function recordPreflights(context, page) {
  const session = await context.newCDPSession(page);
  const byRequestId = new Map();
  const preflights = [];
  session.on('Network.requestWillBeSent', (event) => {
    // Chromium reports a preflight as an OPTIONS request whose initiator
    // type is "preflight", and its response with resource type "Preflight".
    if (event.initiator?.type !== 'preflight') {
      return;
    }
    const entry = { url: event.request.url, status: null, allowOrigin: null };
    byRequestId.set(event.requestId, entry);
    preflights.push(entry);
  });
  session.on('Network.responseReceived', (event) => {
    const entry = byRequestId.get(event.requestId);
    if (!entry) {
      return;
    }
    entry.status = event.response.status;
    const allowOrigin = Object.entries(event.response.headers).find(
      ([name]) => name.toLowerCase() === 'access-control-allow-origin',
    );
    entry.allowOrigin = allowOrigin ? allowOrigin[1] : null;
  });
  await session.send('Network.enable');
  return preflights;
}
