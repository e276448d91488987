// Configuration of the page: the URLs of scopegate and of the backend proxy.
// A config.json served beside index.html overrides the values built in from
// VITE_SCOPEGATE_URL and VITE_PROXY_URL, which override the defaults below.

const DEFAULTS = Object.freeze({
  scopegateUrl: 'http://127.0.0.1:8080',
  proxyUrl: 'http://127.0.0.1:3001',
});
const CONFIG_TIMEOUT_MS = 5_000;

function withoutTrailingSlash(url) {
  return url.replace(/\/+$/, '');
}

/** Fetches config.json; returns {} when it is absent or not JSON. */
async function fetchRuntimeConfig() {
  const url = new URL('config.json', document.baseURI);
  try {
    const response = await fetch(url, { cache: 'no-store', signal: AbortSignal.timeout(CONFIG_TIMEOUT_MS) });
    const contentType = response.headers.get('content-type') ?? '';
    // A dev server may return index.html for an unknown path.
    if (!response.ok || !contentType.includes('json')) {
      return {};
    }
    return await response.json();
  } catch (error) {
    console.warn(`ignoring ${url}: ${error.message}`);
    return {};
  }
}

/** Returns {scopegateUrl, proxyUrl}, each without a trailing slash. */
export async function loadConfig() {
  const runtime = await fetchRuntimeConfig();
  const pick = (name, built) => {
    const value = typeof runtime[name] === 'string' && runtime[name] ? runtime[name] : built || DEFAULTS[name];
    return withoutTrailingSlash(value);
  };
  return {
    scopegateUrl: pick('scopegateUrl', import.meta.env.VITE_SCOPEGATE_URL),
    proxyUrl: pick('proxyUrl', import.meta.env.VITE_PROXY_URL),
  };
}
