// Renders a React hook with react-test-renderer and waits for its value.

import { setTimeout as delay } from 'node:timers/promises';

import React from 'react';
import TestRenderer from 'react-test-renderer';

import { requestLog } from './setup.js';

const POLL_INTERVAL_MS = 20;

function formatRequest(entry) {
  return `${entry.method} ${new URL(entry.url).pathname} returned HTTP ${entry.status}: ${entry.body.slice(0, 500)}`;
}

/**
 * Renders a component that calls `useHook` and resolves with the hook's
 * first value that `isReady` accepts (by default, any defined value).
 *
 * `request` ({method, pathname}) names the request the hook sends. A
 * response to it with an HTTP error status rejects at once, and every
 * rejection message quotes that response. Without a ready value the
 * promise rejects after `timeoutMs`. The component is unmounted in all
 * cases.
 */
export async function waitForHookValue(useHook, options = {}) {
  const { isReady = (value) => value !== undefined, timeoutMs = 10_000, request } = options;
  const firstLogIndex = requestLog.length;

  function hookResponse() {
    if (!request) {
      return undefined;
    }
    return requestLog
      .slice(firstLogIndex)
      .findLast((entry) => entry.method === request.method && new URL(entry.url).pathname === request.pathname);
  }

  function describeResponse() {
    if (!request) {
      return '';
    }
    const entry = hookResponse();
    return entry ? formatRequest(entry) : `no ${request.method} ${request.pathname} request was sent`;
  }

  let latest;
  function HookProbe() {
    latest = useHook();
    return null;
  }

  let renderer;
  await TestRenderer.act(async () => {
    renderer = TestRenderer.create(React.createElement(HookProbe));
  });

  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const response = hookResponse();
      if (response && response.status >= 400) {
        throw new Error(`the hook's request failed: ${formatRequest(response)}`);
      }
      if (isReady(latest)) {
        return latest;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `hook returned no ready value within ${timeoutMs} ms (last value: ${JSON.stringify(latest)}); ${describeResponse()}`,
        );
      }
      // State updates from the hook's fetch land inside this act() scope.
      await TestRenderer.act(async () => {
        await delay(POLL_INTERVAL_MS);
      });
    }
  } finally {
    await TestRenderer.act(async () => {
      renderer.unmount();
    });
  }
}
