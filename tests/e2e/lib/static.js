// A static HTTP server on loopback for the built page, or for one inline
// HTML page.

import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

function send(response, status, contentType, body) {
  response.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
  response.end(body);
}

/**
 * Starts a server on 127.0.0.1 and returns {origin, setConfig(), stop()}.
 *
 * With `root`, it serves the files under that folder, index.html for `/`
 * and for paths without an extension, and `/config.json` from the object
 * last passed to setConfig(). With `html`, it returns that page for every
 * path.
 */
export async function startStaticServer({ root, html }) {
  let config = {};

  async function handle(request, response) {
    const path = decodeURIComponent(new URL(request.url, 'http://127.0.0.1').pathname);
    if (html !== undefined) {
      send(response, 200, CONTENT_TYPES['.html'], html);
      return;
    }
    if (path === '/config.json') {
      send(response, 200, CONTENT_TYPES['.json'], JSON.stringify(config));
      return;
    }
    const relative = path === '/' || extname(path) === '' ? 'index.html' : path.slice(1);
    const file = normalize(join(root, relative));
    if (!file.startsWith(root + sep)) {
      send(response, 404, 'text/plain', 'not found');
      return;
    }
    try {
      const body = await readFile(file);
      send(response, 200, CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', body);
    } catch {
      send(response, 404, 'text/plain', 'not found');
    }
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error) => send(response, 500, 'text/plain', error.message));
  });
  await new Promise((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(0, '127.0.0.1', resolveListen);
  });
  const { port } = server.address();

  return {
    origin: `http://127.0.0.1:${port}`,
    setConfig(next) {
      config = next;
    },
    stop() {
      server.closeAllConnections();
      return new Promise((resolveClose) => server.close(() => resolveClose()));
    },
  };
}
