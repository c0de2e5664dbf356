/**
 * The README's first ten minutes, as a newcomer lives them: a fresh clone in a folder only root can
 * enter (as a clone under /root is), then exactly the README's commands: `npm run local`, the seed's
 * INSERT and verification query, `npm run local:status` (healthy, then with a member stopped),
 * `npm run local:destroy`; the working tree stays clean and `npm run local` works again; TLS on.
 * Also the same command on a machine without the Pulumi CLI. What a newcomer's hands do next
 * (Ctrl-C, previews, typos, stopped servers, two clones) is tests/e2e/localJobHands.test.ts.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { stop } from '../../scripts/embedded/postgres';
import { GENERATED_SECRETS } from '../support/secrets';
import { requireEngine } from '../support/engine';
import { LocalClone, PORTS, pathWithoutPulumi, portOpen } from '../support/localClone';

describe("the README's local walkthrough, from a fresh clone in a folder only root can enter", function () {
  this.timeout(15 * 60_000);
  let c: LocalClone;
  const npm = (script: string, args: string[] = [], env: NodeJS.ProcessEnv = process.env) =>
    c.npm(script, args, env);

  before(async function () {
    c = await LocalClone.make('pg-federation-newcomer-');
  });
  after(function () {
    c?.remove();
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
      GENERATED_SECRETS.add(c.password());
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
      assert.match(healthy.stdout, /^server hippo-east on 127\.0\.0\.1:55431: running$/m);
      assert.match(healthy.stdout, /^healthy$/m);
      const help = npm('local:status', ['--help']);
      assert.equal(help.status, 0, help.stderr);
      assert.match(help.stdout, /^usage: npm run status -- \(--stack NAME/m);
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

    it("npm run status -- --stack dev (the README's example) prints the engine's own reason, not an exit code", function () {
      const env = { ...process.env };
      delete env.PULUMI_BACKEND_URL;
      delete env.PULUMI_ACCESS_TOKEN;
      const run = npm('status', ['--stack', 'dev'], {
        ...env,
        PULUMI_HOME: path.join(c.parent, 'pulumi-home'),
      });
      assert.equal(run.status, 2, run.stdout + run.stderr); // 2: could not check at all
      assert.match(
        run.stderr,
        /^pg-federation status: .*error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions/m,
      );
      assert.doesNotMatch(run.stderr, /code: -2\s*$/);
    });

    it('npm run local:destroy leaves a clean working tree, and npm run local works again', async function () {
      const destroyed = npm('local:destroy');
      assert.equal(destroyed.status, 0, destroyed.stdout + destroyed.stderr);
      assert.doesNotMatch(destroyed.stdout + destroyed.stderr, /by hand/);
      assert.equal(spawnSync('git', ['status', '--porcelain'], { cwd: c.dir, encoding: 'utf8' }).stdout, '');
      assert.equal(existsSync(path.join(c.dir, '.local')), false);
      for (const port of PORTS) assert.equal(await portOpen(port), false, `stopped on ${port}`);
      // Nothing to verify, and nothing made by asking.
      const verify = npm('local:verify');
      assert.equal(verify.status, 1, verify.stdout + verify.stderr);
      assert.match(
        verify.stderr,
        /^pg-federation: the local federation does not exist \(yet, or since local:destroy\); `npm run local` makes it$/m,
      );
      assert.equal(existsSync(path.join(c.dir, '.local')), false);
      const again = npm('local');
      assert.equal(again.status, 0, again.stdout + again.stderr);
      assert.match(again.stdout, /^pulumi up: succeeded; \{"create":47\}$/m);
      assert.equal(spawnSync('git', ['status', '--porcelain'], { cwd: c.dir, encoding: 'utf8' }).stdout, '');
      const client = new Client({
        host: '127.0.0.1',
        port: 55431,
        user: 'postgres',
        database: 'postgres',
        password: c.password(),
      });
      await client.connect();
      assert.equal((await client.query('SELECT count(*)::int AS n FROM pg_subscription')).rows[0]?.n, 2);
      await client.end();
    });

    it('with pg-federation-local:tls on, the same job runs every connection over TLS (verify-full)', async function () {
      const file = c.localFile;
      writeFileSync(
        file,
        readFileSync(file, 'utf8').replace('pg-federation-local:tls: false', 'pg-federation-local:tls: true'),
      );
      const run = npm('local');
      assert.equal(run.status, 0, run.stdout + run.stderr);
      assert.match(run.stdout, /^hippo-east: PostgreSQL \S+ on 127\.0\.0\.1:55431 \(restarted,/m);
      // A refresh through the connections the state holds (no TLS) would fail on TLS-only servers:
      // the members are moved by an up first, then refreshed.
      assert.match(
        run.stdout,
        /^pg-federation: hippo-east, hippo-central, hippo-west connect differently since the last run: pulumi up moves them first, then refreshes$/m,
      );
      assert.match(run.stdout, /^pulumi up \(new connections\): \{"same":\d+,"update":\d+\}$/m);
      assert.match(run.stdout, /^pulumi up: succeeded; \{"same":\d+\}$/m);
      assert.equal(npm('local:insert', ['hippo-west']).status, 0);
      const status = npm('local:status');
      assert.equal(status.status, 0, status.stdout + status.stderr);
      const password = c.password();
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
