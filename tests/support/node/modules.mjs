// Load an npm package from NODE_MODULES: `make` installs this folder's package-lock.json into the
// virtualenv (.venv/node), so the test tree holds only the project's own files.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export async function load(name) {
  const dir = join(process.env.NODE_MODULES, name);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  return import(pathToFileURL(join(dir, pkg.main ?? 'index.js')).href);
}
