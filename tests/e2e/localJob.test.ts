/**
 * The README's first ten minutes, as a newcomer lives them: a fresh clone in a folder only root can
 * enter (as a clone under /root is), then exactly the README's commands: `npm run local`, the seed's
 * INSERT and verification query, `npm run local:status` (healthy, then with a member stopped),
 * `npm run local:destroy`; the working tree stays clean and `npm run local` works again. Also the
 * same command on a machine without the Pulumi CLI.
 *
 * The clone gets this checkout's working tree (committed or not) and its node_modules as hard
 * links, so the test neither installs packages nor touches this checkout.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { stop } from '../../scripts/embedded/postgres';
import { PROJECT_ROOT } from '../../scripts/workspace';
import { GENERATED_SECRETS } from '../support/secrets';
import { requireEngine } from '../support/engine';

const PORTS = [55431, 55432, 55433];

/** PATH without any folder that holds a `pulumi` executable. */
function pathWithoutPulumi(): string {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((dir) => dir !== '' && !existsSync(path.join(dir, 'pulumi')))
    .join(path.delimiter);
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** A fresh clone of this checkout's working tree, with its node_modules hard-linked. */
function freshClone(parent: string): string {
  const clone = path.join(parent, 'pg-federation');
  const git = (cwd: string, ...args: string[]) => {
    const run = spawnSync('git', args, { cwd, encoding: 'utf8' });
    assert.equal(run.status, 0, `git ${args.join(' ')}: ${run.stderr}`);
    return run.stdout;
  };
  git(parent, 'clone', '--quiet', '--no-hardlinks', PROJECT_ROOT, clone);
  for (const file of git(PROJECT_ROOT, 'ls-files', '--cached', '--others', '--exclude-standard', '-z').split(
    '\0',
  )) {
    if (file === '' || !existsSync(path.join(PROJECT_ROOT, file))) continue;
    mkdirSync(path.dirname(path.join(clone, file)), { recursive: true });
    cpSync(path.join(PROJECT_ROOT, file), path.join(clone, file));
  }
  git(clone, 'add', '-A');
  spawnSync(
    'git',
    ['-c', 'user.name=test', '-c', 'user.email=test@example.invalid', 'commit', '-qm', 'working tree'],
    {
      cwd: clone,
    },
  );
  const linked = spawnSync('cp', [
    '-al',
    path.join(PROJECT_ROOT, 'node_modules'),
    path.join(clone, 'node_modules'),
  ]);
  assert.equal(linked.status, 0, String(linked.stderr));
  // npm's record of the install is newer than the lock file: the README's commands install nothing.
  const now = new Date();
  utimesSync(path.join(clone, 'node_modules', '.package-lock.json'), now, now);
  return clone;
}

describe("the README's local walkthrough, from a fresh clone in a folder only root can enter", function () {
  this.timeout(15 * 60_000);
  let parent: string;
  let clone: string;
  const npm = (script: string, args: string[] = [], env: NodeJS.ProcessEnv = process.env) =>
    spawnSync('npm', ['run', '--silent', script, ...(args.length > 0 ? ['--', ...args] : [])], {
      cwd: clone,
      env,
      encoding: 'utf8',
      timeout: 10 * 60_000,
    });

  before(async function () {
    for (const port of PORTS) {
      if (await portOpen(port))
        throw new Error(
          `port ${port} of Pulumi.local.yaml is in use: stop what runs there (npm run local:stop?)`,
        );
    }
    parent = mkdtempSync(path.join(tmpdir(), 'pg-federation-newcomer-'));
    chmodSync(parent, 0o700); // only root can enter, as /root
    clone = freshClone(parent);
  });
  after(function () {
    if (clone !== undefined) npm('local:destroy', [], { ...process.env, PATH: pathWithoutPulumi() });
    if (parent !== undefined) rmSync(parent, { recursive: true, force: true });
  });

  it('without the Pulumi CLI: starts the servers, says in one line what is missing, exits 1; local:stop stops them', async function () {
    const env = { ...process.env, PATH: pathWithoutPulumi() };
    const run = npm('local', [], env);
    assert.equal(run.status, 1, run.stdout + run.stderr);
    const errors = run.stderr.trim().split('\n');
    assert.equal(errors.length, 1, run.stderr);
    assert.match(
      errors[0] ?? '',
      /^pg-federation: the Pulumi CLI is not on PATH: install it \(https:\/\/www\.pulumi\.com\/docs\/install\//,
    );
    assert.match(errors[0] ?? '', /hold no federation until `pulumi up` runs/);
    // The clone's own .local/ is out of the postgres user's reach: the data goes where it can be.
    assert.match(
      run.stdout,
      /^hippo-east: PostgreSQL \d+\.\d+ on 127\.0\.0\.1:55431 \(created, data in \/var\/tmp\/pg-federation-[0-9a-f]{12}\/servers\/hippo-east\)$/m,
    );
    for (const port of PORTS) assert.ok(await portOpen(port), `a server on ${port}`);
    const stopped = npm('local:stop', [], env);
    assert.equal(stopped.status, 0, stopped.stderr);
    assert.match(stopped.stdout, /hippo-east: stopped/);
    for (const port of PORTS) assert.equal(await portOpen(port), false, `stopped on ${port}`);
  });

  describe('with the Pulumi CLI', function () {
    before(function () {
      requireEngine(this);
    });

    it('npm run local deploys the federation; the seed INSERT and verification go through the documented commands', function () {
      const run = npm('local');
      assert.equal(run.status, 0, run.stdout + run.stderr);
      assert.match(run.stdout, /^pulumi up: succeeded; \{"create":47\}$/m);
      GENERATED_SECRETS.add(readFileSync(path.join(clone, '.local', 'postgres-password'), 'utf8').trim());
      const insert = npm('local:insert');
      assert.equal(insert.status, 0, insert.stderr);
      assert.match(insert.stdout, /^hippo-west: inserted 25 rows$/m);
      const verify = npm('local:verify');
      assert.equal(verify.status, 0, verify.stderr);
      for (const member of ['hippo-east', 'hippo-central', 'hippo-west']) {
        assert.match(
          verify.stdout,
          new RegExp(`^  ${member} +hippo-central 25, hippo-east 25, hippo-west 25$`, 'm'),
        );
      }
    });

    it('npm run local:status is healthy; with hippo-west stopped, status -- --stack local says so and exits 1', async function () {
      const healthy = npm('local:status');
      assert.equal(healthy.status, 0, healthy.stdout + healthy.stderr);
      assert.match(healthy.stdout, /^healthy$/m);
      const dataDir = /^hippo-west: .* data in (\S+)\)$/m.exec(
        npm('local', [], { ...process.env, PATH: pathWithoutPulumi() }).stdout,
      )?.[1];
      assert.ok(dataDir !== undefined);
      await stop(dataDir);
      const broken = npm('status', ['--stack', 'local']);
      assert.equal(broken.status, 1, broken.stdout + broken.stderr);
      assert.match(broken.stdout, /hippo-east <- hippo-west .*BROKEN: publisher hippo-west unreachable/);
      assert.match(broken.stdout, /^hippo-west: UNREACHABLE: cannot connect to member "hippo-west"/m);
    });

    it('npm run local:destroy leaves a clean working tree, and npm run local works again', async function () {
      const destroyed = npm('local:destroy');
      assert.equal(destroyed.status, 0, destroyed.stdout + destroyed.stderr);
      assert.equal(spawnSync('git', ['status', '--porcelain'], { cwd: clone, encoding: 'utf8' }).stdout, '');
      assert.equal(existsSync(path.join(clone, '.local')), false);
      const again = npm('local');
      assert.equal(again.status, 0, again.stdout + again.stderr);
      assert.match(again.stdout, /^pulumi up: succeeded; \{"create":47\}$/m);
      assert.equal(spawnSync('git', ['status', '--porcelain'], { cwd: clone, encoding: 'utf8' }).stdout, '');
      const client = new Client({
        host: '127.0.0.1',
        port: 55431,
        user: 'postgres',
        database: 'postgres',
        password: readFileSync(path.join(clone, '.local', 'postgres-password'), 'utf8').trim(),
      });
      await client.connect();
      assert.equal((await client.query('SELECT count(*)::int AS n FROM pg_subscription')).rows[0]?.n, 2);
      await client.end();
    });

    it('with pg-federation-local:tls on, the same job runs every connection over TLS (verify-full)', async function () {
      const file = path.join(clone, 'Pulumi.local.yaml');
      writeFileSync(
        file,
        readFileSync(file, 'utf8').replace('pg-federation-local:tls: false', 'pg-federation-local:tls: true'),
      );
      const run = npm('local');
      assert.equal(run.status, 0, run.stdout + run.stderr);
      assert.match(run.stdout, /^hippo-east: PostgreSQL \S+ on 127\.0\.0\.1:55431 \(restarted,/m);
      assert.equal(npm('local:insert', ['hippo-west']).status, 0);
      const status = npm('local:status');
      assert.equal(status.status, 0, status.stdout + status.stderr);
      const password = readFileSync(path.join(clone, '.local', 'postgres-password'), 'utf8').trim();
      const plain = new Client({
        host: '127.0.0.1',
        port: 55432,
        user: 'postgres',
        database: 'postgres',
        password,
      });
      await assert.rejects(plain.connect(), /no pg_hba\.conf entry .* no encryption/);
      const tls = new Client({
        host: '127.0.0.1',
        port: 55432,
        user: 'postgres',
        database: 'postgres',
        password,
        ssl: { rejectUnauthorized: false },
      });
      await tls.connect();
      const senders = await tls.query<{ ssl: boolean }>(
        'SELECT s.ssl FROM pg_stat_replication r JOIN pg_stat_ssl s ON s.pid = r.pid',
      );
      await tls.end();
      assert.equal(senders.rows.length, 2);
      assert.ok(
        senders.rows.every((r) => r.ssl),
        'its subscribers connect over TLS',
      );
    });
  });
});
