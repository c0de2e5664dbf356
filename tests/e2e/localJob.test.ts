/**
 * The README's main-job command on a machine without the Pulumi CLI: it starts the three servers,
 * says in one line what is missing, exits non-zero; the documented stop command stops them.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';

const ROOT = path.join(__dirname, '..', '..');

/** PATH without any folder that holds a `pulumi` executable. */
function pathWithoutPulumi(): string {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((dir) => dir !== '' && !existsSync(path.join(dir, 'pulumi')))
    .join(path.delimiter);
}

function npmRun(script: string, env: NodeJS.ProcessEnv) {
  return spawnSync('npm', ['run', '--silent', script], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
}

async function answers(port: number, password: string): Promise<boolean> {
  const client = new Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.query('SHOW wal_level')).rows[0]?.wal_level === 'logical';
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('npm run local without the Pulumi CLI', function () {
  const localDir = mkdtempSync(path.join(tmpdir(), 'pg-federation-local-'));
  const env = { ...process.env, PATH: pathWithoutPulumi(), PG_FEDERATION_LOCAL_DIR: localDir };
  after(function () {
    npmRun('local:stop', env);
    rmSync(localDir, { recursive: true, force: true });
  });

  it('starts the servers, explains in one line, exits non-zero; local:stop stops them', async function () {
    const run = npmRun('local', env);
    assert.equal(run.status, 1, run.stdout + run.stderr);
    const errors = run.stderr.trim().split('\n');
    assert.equal(errors.length, 1, run.stderr);
    assert.match(
      errors[0] ?? '',
      /^pg-federation: the Pulumi CLI is not on PATH: install it \(https:\/\/www\.pulumi\.com\/docs\/install\//,
    );
    assert.match(run.stdout, /hippo-east: PostgreSQL 14 on 127\.0\.0\.1:55431 \(created/);
    const password = readFileSync(path.join(localDir, 'postgres-password'), 'utf8').trim();
    for (const port of [55431, 55432, 55433]) assert.ok(await answers(port, password), `server on ${port}`);

    const again = npmRun('local', env);
    assert.match(again.stdout, /hippo-west: PostgreSQL 14 on 127\.0\.0\.1:55433 \(reused/);

    const stop = npmRun('local:stop', env);
    assert.equal(stop.status, 0, stop.stderr);
    assert.match(stop.stdout, /hippo-east: stopped/);
    for (const port of [55431, 55432, 55433])
      assert.equal(await answers(port, password), false, `stopped on ${port}`);
  });
});
