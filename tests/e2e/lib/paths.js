// Locations of the binaries, the built page and the screenshot folder.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = resolve(PACKAGE_DIR, '../..');
const CARGO_METADATA_TIMEOUT_MS = 60_000;
let cachedTargetDir;

/**
 * Returns Cargo's target directory: CARGO_TARGET_DIR when set, otherwise
 * the one `cargo metadata` reports for the repository.
 */
export function targetDir() {
  if (process.env.CARGO_TARGET_DIR) {
    return resolve(REPO_ROOT, process.env.CARGO_TARGET_DIR);
  }
  if (cachedTargetDir === undefined) {
    const output = execFileSync('cargo', ['metadata', '--format-version', '1', '--no-deps'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: CARGO_METADATA_TIMEOUT_MS,
      maxBuffer: 64 * 1024 * 1024,
    });
    cachedTargetDir = JSON.parse(output).target_directory;
  }
  return cachedTargetDir;
}

function existingFile(path, hint) {
  if (!existsSync(path)) {
    throw new Error(`${path} not found: ${hint}`);
  }
  return path;
}

/** Returns the scopegate binary: SCOPEGATE_BIN, or the release build. */
export function scopegateBinary() {
  const path = process.env.SCOPEGATE_BIN
    ? resolve(PACKAGE_DIR, process.env.SCOPEGATE_BIN)
    : join(targetDir(), 'release', 'scopegate');
  return existingFile(path, 'run `cargo build --release` in the repository root or set SCOPEGATE_BIN');
}

/** Returns the example backend: PROXY_BIN, or the release build. */
export function proxyBinary() {
  const path = process.env.PROXY_BIN
    ? resolve(PACKAGE_DIR, process.env.PROXY_BIN)
    : join(targetDir(), 'release', 'scopegate-backend-proxy');
  return existingFile(path, 'run `cargo build --release -p scopegate-backend-proxy` or set PROXY_BIN');
}

/** Returns the built page's folder: WEB_DIST, or examples/web/dist. */
export function webDist() {
  const path = process.env.WEB_DIST ? resolve(PACKAGE_DIR, process.env.WEB_DIST) : join(REPO_ROOT, 'examples', 'web', 'dist');
  existingFile(join(path, 'index.html'), 'run `npm ci && npm run build` in examples/web or set WEB_DIST');
  return path;
}

/** Returns the folder that receives screenshots: <target dir>/e2e. */
export function screenshotDir() {
  return join(targetDir(), 'e2e');
}
