// The embedding example end to end in headless Chromium: scopegate, the
// backend proxy (examples/backend-proxy) and the built page (examples/web),
// each on its own loopback port.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  ALICE,
  BOB,
  deleteDestination,
  expectNotice,
  listedDestinations,
  logIn,
  nameTenantInTokenRequests,
  renameDestination,
  submitPostgresDestination,
  waitForForm,
  waitForRow,
} from '../lib/app.js';
import {
  createDestinationForTenant,
  destinationsOfTenant,
  listWithToken,
  preflight,
  proxyLogin,
  proxyToken,
} from '../lib/backend.js';
import { launchBrowser, recordPreflights, screenshot } from '../lib/browser.js';
import { listedForeignDestinations } from '../lib/isolation.js';
import { webDist } from '../lib/paths.js';
import { startProxy } from '../lib/proxy.js';
import { startScopegate } from '../lib/scopegate.js';
import { startStaticServer } from '../lib/static.js';

const TEST_TIMEOUT_MS = 90_000;
const OTHER_ORIGIN_PAGE = `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>Another site</title></head>
  <body style="font-family: system-ui, sans-serif; margin: 24px">
    <h1>A page on another origin</h1>
    <p>It holds a valid scoped token and calls scopegate with it.</p>
    <pre id="result">not run</pre>
  </body>
</html>`;

/** Starts the built page and a proxy for its origin; returns both. */
async function startApp(scopegate, { unsafeTrustBrowserTenant = false } = {}) {
  const app = await startStaticServer({ root: webDist() });
  try {
    const proxy = await startProxy({ scopegate, appOrigin: app.origin, unsafeTrustBrowserTenant });
    app.setConfig({ scopegateUrl: scopegate.baseUrl, proxyUrl: proxy.baseUrl });
    return { app, proxy };
  } catch (error) {
    await app.stop();
    throw error;
  }
}

/** Runs `steps(browser)` in a fresh Chromium, closed afterwards. */
async function inBrowser(steps) {
  const browser = await launchBrowser();
  try {
    return await steps(browser);
  } finally {
    await browser.close();
  }
}

function pageErrors(browser) {
  return browser.browserErrors.filter((entry) => entry.startsWith('page error'));
}

describe('embedding example in Chromium', { timeout: 300_000 }, () => {
  let scopegate;
  let app;
  let proxy;

  before(async () => {
    scopegate = await startScopegate();
    ({ app, proxy } = await startApp(scopegate));
  }, { timeout: 60_000 });

  after(async () => {
    await proxy?.stop();
    await app?.stop();
    await scopegate?.stop();
  }, { timeout: 30_000 });

  it('tenant A manages destinations', { timeout: TEST_TIMEOUT_MS }, async () => {
    await inBrowser(async (browser) => {
      const { page } = browser;
      const preflights = await recordPreflights(browser.context, page);

      await logIn(page, app.origin, ALICE);
      assert.deepEqual(await listedDestinations(page), []);
      await waitForForm(page);
      await screenshot(page, '01-alice-form');

      // scopegate rejects a blank name; the page shows its message.
      await submitPostgresDestination(page, '   ');
      await expectNotice(page, 'error', 'destination.name must be a non-empty string');
      await screenshot(page, '02-alice-create-rejected');

      await submitPostgresDestination(page, 'Warehouse A1');
      await expectNotice(page, 'success', 'Created destination “Warehouse A1”.');
      await waitForRow(page, 'Warehouse A1');
      const created = await listedDestinations(page);
      assert.deepEqual(created.map((destination) => destination.name), ['Warehouse A1']);
      await screenshot(page, '03-alice-created');

      await renameDestination(page, 'Warehouse A1', 'Warehouse A1 renamed');
      await expectNotice(page, 'success', 'Renamed destination to “Warehouse A1 renamed”.');
      await waitForRow(page, 'Warehouse A1 renamed');
      const renamed = await listedDestinations(page);
      assert.deepEqual(renamed, [{ id: created[0].id, name: 'Warehouse A1 renamed' }]);
      await screenshot(page, '04-alice-renamed');

      await deleteDestination(page, 'Warehouse A1 renamed');
      await expectNotice(page, 'success', 'Deleted destination “Warehouse A1 renamed”.');
      await waitForRow(page, 'Warehouse A1 renamed', { present: false });
      assert.deepEqual(await listedDestinations(page), []);
      await screenshot(page, '05-alice-deleted');

      await submitPostgresDestination(page, 'Warehouse A kept');
      await expectNotice(page, 'success', 'Created destination “Warehouse A kept”.');
      await waitForRow(page, 'Warehouse A kept');
      await screenshot(page, '06-alice-kept');

      const onServer = await destinationsOfTenant(scopegate, ALICE.tenant);
      assert.deepEqual(onServer.map((destination) => destination.name), ['Warehouse A kept']);

      const toScopegate = preflights.filter((entry) => entry.url.startsWith(`${scopegate.baseUrl}/`));
      assert.ok(toScopegate.length > 0, `no preflight to scopegate was recorded: ${JSON.stringify(preflights)}`);
      for (const entry of toScopegate) {
        assert.ok(entry.status >= 200, `preflight failed: ${JSON.stringify(entry)}`);
        assert.ok(entry.status < 300, `preflight failed: ${JSON.stringify(entry)}`);
        assert.equal(entry.allowOrigin, app.origin, `preflight of ${entry.url}`);
      }
      assert.deepEqual(pageErrors(browser), []);
    });
  });

  it('tenant B sees none of A', { timeout: TEST_TIMEOUT_MS }, async () => {
    await createDestinationForTenant(scopegate, ALICE.tenant, 'Warehouse A for isolation');
    const ofTenantA = await destinationsOfTenant(scopegate, ALICE.tenant);
    assert.ok(ofTenantA.length > 0, 'tenant A needs a destination for this check');

    await inBrowser(async (browser) => {
      const { page } = browser;
      // The browser names tenant A in every token request; the proxy must
      // mint for the session's tenant all the same.
      const sentBodies = await nameTenantInTokenRequests(page, proxy.baseUrl, ALICE.tenant);

      await logIn(page, app.origin, BOB);
      const foreign = await listedForeignDestinations(page, ofTenantA);
      await screenshot(page, '07-bob-list');

      assert.ok(sentBodies.length > 0, 'the page sent no token request');
      assert.deepEqual(foreign, [], `tenant B's page lists tenant A's destinations`);
      assert.deepEqual(await listedDestinations(page), []);
      assert.deepEqual(pageErrors(browser), []);
    });
  });

  it('isolation check detects trusted browser tenant', { timeout: TEST_TIMEOUT_MS }, async () => {
    // A proxy that mints for the tenant the browser names. The check above
    // must report tenant A's destinations on tenant B's page here, or it
    // could not catch that mistake.
    const unsafe = await startApp(scopegate, { unsafeTrustBrowserTenant: true });
    try {
      await createDestinationForTenant(scopegate, ALICE.tenant, 'Warehouse A for unsafe proxy');
      const ofTenantA = await destinationsOfTenant(scopegate, ALICE.tenant);

      await inBrowser(async (browser) => {
        const { page } = browser;
        await nameTenantInTokenRequests(page, unsafe.proxy.baseUrl, ALICE.tenant);

        await logIn(page, unsafe.app.origin, BOB);
        const foreign = await listedForeignDestinations(page, ofTenantA);
        await screenshot(page, '08-bob-unsafe-proxy');

        const byId = (left, right) => left.id.localeCompare(right.id);
        assert.deepEqual([...foreign].sort(byId), [...ofTenantA].sort(byId));
      });
    } finally {
      await unsafe.proxy.stop();
      await unsafe.app.stop();
    }
  });

  it('other origin is blocked', { timeout: TEST_TIMEOUT_MS }, async () => {
    const other = await startStaticServer({ html: OTHER_ORIGIN_PAGE });
    try {
      const cookie = await proxyLogin(proxy.baseUrl, ALICE);
      const token = await proxyToken(proxy.baseUrl, cookie);
      const fromApp = await listWithToken(scopegate, token, { appId: app.origin, origin: app.origin });
      assert.equal(fromApp.status, 200, `the token must work from the app: ${JSON.stringify(fromApp.body)}`);

      const outcomes = await inBrowser(async (browser) => {
        const { page } = browser;
        await page.goto(`${other.origin}/`);
        const results = await page.evaluate(
          async ({ url, token: scopedToken, appIds }) => {
            const results = [];
            for (const appId of appIds) {
              try {
                const response = await fetch(url, {
                  headers: { Authorization: `Bearer ${scopedToken}`, 'X-APP-ID': appId },
                });
                results.push({ appId, outcome: `answered HTTP ${response.status}` });
              } catch (error) {
                results.push({ appId, outcome: 'rejected', errorName: error.name, message: error.message });
              }
            }
            document.querySelector('#result').textContent = JSON.stringify(results, null, 2);
            return results;
          },
          { url: `${scopegate.baseUrl}/destinations-for-recipient`, token, appIds: [other.origin, app.origin] },
        );
        await screenshot(page, '09-other-origin-blocked');
        return results;
      });

      for (const result of outcomes) {
        assert.equal(result.outcome, 'rejected', `fetch with X-APP-ID ${result.appId}: ${JSON.stringify(result)}`);
        assert.equal(result.errorName, 'TypeError', `fetch with X-APP-ID ${result.appId}: ${JSON.stringify(result)}`);
      }

      const otherPreflight = await preflight(scopegate, other.origin);
      const appPreflight = await preflight(scopegate, app.origin);
      assert.equal(otherPreflight.get('access-control-allow-origin'), null);
      assert.equal(appPreflight.get('access-control-allow-origin'), app.origin);

      const asOther = await listWithToken(scopegate, token, { appId: other.origin, origin: other.origin });
      const otherWithAppId = await listWithToken(scopegate, token, { appId: app.origin, origin: other.origin });
      assert.equal(asOther.status, 401, JSON.stringify(asOther.body));
      assert.equal(otherWithAppId.status, 401, JSON.stringify(otherWithAppId.body));
    } finally {
      await other.stop();
    }
  });
});
