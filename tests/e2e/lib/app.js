// User actions on the example page (examples/web), one function per step.

import assert from 'node:assert/strict';

/** Demo users from examples/backend-proxy/users.json. */
export const ALICE = Object.freeze({ username: 'alice', password: 'alice-demo-password', tenant: 'tenant-a' });
export const BOB = Object.freeze({ username: 'bob', password: 'bob-demo-password', tenant: 'tenant-b' });

/** Opens the page and logs in as `user`. */
export async function logIn(page, appOrigin, user) {
  await page.goto(`${appOrigin}/`);
  await page.locator('#login-username').fill(user.username);
  await page.locator('#login-password').fill(user.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#tenant').getByText(user.tenant, { exact: true }).waitFor();
}

/**
 * Waits until the destination list has loaded and returns its rows as
 * {id, name}. Throws with the page's message when the list failed to load.
 */
export async function listedDestinations(page) {
  const list = page.locator('#destinations:is([data-state="loaded"], [data-state="error"])');
  await list.waitFor();
  if ((await list.getAttribute('data-state')) === 'error') {
    throw new Error(`the destination list failed to load: ${await list.innerText()}`);
  }
  return page.locator('#destinations tbody tr').evaluateAll((rows) =>
    rows.map((row) => ({ id: row.dataset.destinationId, name: row.querySelector('td.name').textContent })),
  );
}

/** Waits for the list to contain a row named `name`, or for it to be gone. */
export async function waitForRow(page, name, { present = true } = {}) {
  const row = page.locator('#destinations tbody tr').filter({ has: page.locator('td.name', { hasText: name }) });
  await row.first().waitFor({ state: present ? 'visible' : 'detached' });
  return row;
}

/** Returns {kind, text} of the notice the page shows after an action. */
export async function notice(page) {
  const element = page.locator('#notice');
  await element.waitFor();
  return { kind: await element.getAttribute('data-kind'), text: await element.innerText() };
}

/** Waits for the notice of an action to read `text`, and checks its kind. */
export async function expectNotice(page, kind, text) {
  await page.locator('#notice', { hasText: text }).waitFor();
  const displayed = await notice(page);
  assert.equal(displayed.kind, kind, `notice: ${displayed.text}`);
  return displayed;
}

/** Waits for the destination form that useDestinationForm builds. */
export async function waitForForm(page) {
  const form = page.locator('form#new-destination');
  await form.locator('[name="host"]').waitFor();
  return form;
}

/**
 * Fills the postgres form with `name` and local connection details and
 * submits it.
 */
export async function submitPostgresDestination(page, name) {
  const form = await waitForForm(page);
  await form.locator('[name="name"]').fill(name);
  await form.locator('[name="host"]').fill('127.0.0.1');
  await form.locator('[name="port"]').fill('5432');
  await form.locator('[name="database"]').fill('analytics');
  await form.locator('[name="schema"]').fill('exports');
  await form.locator('[name="username"]').fill('loader');
  await form.locator('[name="password"]').fill('e2e-secret-password');
  await form.getByRole('button', { name: 'Create destination' }).click();
}

/** Renames the row named `from` to `to` through its Rename button. */
export async function renameDestination(page, from, to) {
  const rowByName = await waitForRow(page, from);
  // While the name is edited it sits in an input, which the name filter does
  // not see, so the row is found again by its id.
  const id = await rowByName.first().getAttribute('data-destination-id');
  const row = page.locator(`#destinations tbody tr[data-destination-id="${id}"]`);
  await row.getByRole('button', { name: 'Rename' }).click();
  await row.getByLabel('New name').fill(to);
  await row.getByRole('button', { name: 'Save' }).click();
}

/** Deletes the row named `name` through its Delete button. */
export async function deleteDestination(page, name) {
  const row = await waitForRow(page, name);
  await row.getByRole('button', { name: 'Delete' }).click();
}

/**
 * Makes the browser add `id_in_provider_system: tenant` to every body the
 * page sends to the proxy's /auth-token, as a user who edits the page's
 * requests can. Returns the live array of bodies actually sent.
 */
export async function nameTenantInTokenRequests(page, proxyUrl, tenant) {
  const sentBodies = [];
  await page.route(`${proxyUrl}/auth-token`, async (route) => {
    const request = route.request();
    if (request.method() !== 'POST') {
      await route.continue();
      return;
    }
    const body = { ...JSON.parse(request.postData() || '{}'), id_in_provider_system: tenant };
    sentBodies.push(body);
    await route.continue({ postData: JSON.stringify(body) });
  });
  return sentBodies;
}
