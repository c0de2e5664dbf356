// Mocha's settings. In CI (CI=true: GitHub Actions and .ci/run) a stray `.only` fails the run instead
// of silently running one test; locally it narrows a run as usual.
module.exports = {
  require: ['ts-node/register/transpile-only', 'tests/support/setup.ts', 'tests/support/secretScan.ts'],
  extension: ['ts'],
  timeout: 120000,
  exit: true,
  forbidOnly: process.env.CI === 'true',
};
