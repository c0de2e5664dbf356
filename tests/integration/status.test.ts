/**
 * `npm run status` against a live embedded federation: healthy; a copy that differs from its owner
 * (blamed on the right member and subscription); a member stopped; and every way to call it wrong.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { clientConfig } from '../../components/providers/connection';
import { collect } from '../../scripts/status/collect';
import { renderReport } from '../../scripts/status/render';
import { ServerSet, type TestServer, query, waitFor } from '../../scripts/embedded/serverSet';
import { TEST_PASSWORD } from '../support/secrets';
import { asReplica, memberFlags, status } from '../support/statusRun';
import { FederationDriver, configFor } from '../support/federationDriver';
import { must } from '../support/must';

const ROOT = path.join(__dirname, '..', '..');

describe('npm run status on embedded PostgreSQL', function () {
  let set: ServerSet;
  let servers: TestServer[];
  before(async function () {
    set = await ServerSet.start(['hippo-east', 'hippo-central', 'hippo-west', 'bare']);
    servers = ['hippo-east', 'hippo-central', 'hippo-west'].map((n) => set.get(n));
    await new FederationDriver(set).up(configFor(servers));
    for (const s of servers) {
      await query(s, `INSERT INTO hippos (value, created_at) SELECT NULL, now() FROM generate_series(1, 25)`);
    }
    await waitFor('75 rows everywhere', async () => {
      const counts = await Promise.all(
        servers.map((s) => query<{ n: string }>(s, 'SELECT count(*) AS n FROM hippos')),
      );
      return counts.every((rows) => rows[0]?.n === '75');
    });
  });
  after(async function () {
    await set?.stopAll();
  });

  it('reports every pair ok and every copy equal to its owner on a healthy federation, exit 0', async function () {
    const report = await collect(
      servers.map((s) => ({ name: s.name, connection: s.connection })),
      { tables: [{ schema: 'public', name: 'hippos' }], maxLagBytes: 16 * 1024 * 1024 },
    );
    assert.equal(report.pairs.length, 6);
    for (const pair of report.pairs) {
      assert.equal(pair.status, 'ok', `${pair.subscription}: ${pair.problem ?? ''}`);
      assert.deepEqual(
        [pair.enabled, pair.workerRunning, pair.syncState, pair.slotActive],
        [true, true, 'r', true],
      );
    }
    assert.equal(report.partitions.length, 3);
    for (const p of report.partitions) {
      assert.equal(p.rows, 25, `${p.owner}'s own partition`);
      assert.deepEqual(
        p.copies.map((c) => [c.holder, c.rows, c.hash === p.hash, c.status]),
        servers.filter((s) => s.name !== p.owner).map((s) => [s.name, 25, true, 'ok']),
      );
    }
    assert.equal(report.healthy, true);
    assert.match(
      renderReport(report),
      /hippo-east <- hippo-west\s+yes\s+yes\s+r\s+\S+\s+\d+\s+[\d.]+MB\/\S+ reserved( failover)?\s+ok/,
    );
    assert.match(renderReport(report), /public\.hippos\s+hippo-west\s+25\s+25\s+25\s+25 \(owner\)\s+ok/);

    // The npm script itself, once, as a user runs it.
    const cli = spawnSync(
      'npm',
      ['run', '--silent', 'status', '--', '--sslmode', 'disable', ...memberFlags(servers)],
      {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, PGPASSWORD: TEST_PASSWORD },
      },
    );
    assert.equal(cli.status, 0, cli.stdout + cli.stderr);
    assert.match(cli.stdout, /^healthy$/m);
    const json = await status(['--sslmode', 'disable', '--json', ...memberFlags(servers)]);
    assert.equal((JSON.parse(json.stdout) as { healthy: boolean }).healthy, true);
  });

  it("blames the member whose copy differs from the owner's partition, and the subscription feeding it", async function () {
    const east = set.get('hippo-east');
    // Two stray rows in hippo-east's copy of hippo-west's partition, written past the guards as only
    // a superuser can (session_replication_role = replica).
    const stray = await asReplica<{ id: string }>(
      east,
      `INSERT INTO hippo_west (node_name, created_at) SELECT 'hippo-west', now() FROM generate_series(1, 2) RETURNING id`,
    );
    try {
      const run = await status(['--sslmode', 'disable', ...memberFlags(servers)]);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      const report = JSON.parse(
        (await status(['--sslmode', 'disable', '--json', ...memberFlags(servers)])).stdout,
      ) as {
        partitions: Array<{
          owner: string;
          copies: Array<{ holder: string; status: string; problem?: string }>;
        }>;
      };
      const bad = report.partitions.flatMap((p) =>
        p.copies.filter((c) => c.status !== 'ok').map((c) => ({ owner: p.owner, ...c })),
      );
      assert.deepEqual(
        bad.map((c) => [c.owner, c.holder, c.status]),
        [['hippo-west', 'hippo-east', 'diverges']],
      );
      assert.match(
        bad[0]?.problem ?? '',
        /hippo-east's copy has 27 rows, owner hippo-west has 25 .*sub_hippo_east_hippo_west/,
      );
      assert.match(run.stdout, /public\.hippos\s+hippo-west\s+25\s+27 ≠\s+25\s+25 \(owner\)\s+DIVERGES/);
    } finally {
      await asReplica(east, 'DELETE FROM hippo_west WHERE id = ANY($1::uuid[])', [stray.map((r) => r.id)]);
    }
  });

  it('marks the pairs and copies of a stopped member plainly, exit 1', async function () {
    const west = set.get('hippo-west');
    await west.stop();
    try {
      const run = await status(['--sslmode', 'disable', ...memberFlags(servers)]);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.match(run.stdout, /hippo-east <- hippo-west .*BROKEN: publisher hippo-west unreachable/);
      assert.match(run.stdout, /hippo-west <- hippo-east .*UNKNOWN: subscriber hippo-west unreachable/);
      assert.match(run.stdout, /^hippo-west: UNREACHABLE: cannot connect to member "hippo-west"/m);
      assert.match(run.stdout, /^NOT HEALTHY$/m);
      assert.ok(!run.stdout.includes(TEST_PASSWORD) && !run.stderr.includes(TEST_PASSWORD));
    } finally {
      await west.start();
    }
  });

  it('says a reachable server without the table has no table, not that it is unreachable', async function () {
    const bare = set.get('bare');
    const run = await status(['--sslmode', 'disable', ...memberFlags([set.get('hippo-east'), bare])]);
    assert.equal(run.code, 1);
    assert.match(
      run.stdout,
      /^bare: NO TABLE public\.hippos \(reachable; the federation is not deployed there\)$/m,
    );
    assert.doesNotMatch(run.stdout, /bare: UNREACHABLE/);
  });

  const usage: Array<[string, string[], Record<string, string | undefined>, RegExp]> = [
    ['no arguments', [], {}, /give either --stack NAME or one --member NAME=HOST:PORT per member/],
    [
      'a misspelt sslmode',
      ['--sslmode', 'disabled', '--member', 'a=127.0.0.1:1'],
      {},
      /--sslmode disabled: expected one of disable, require, verify-ca, verify-full/,
    ],
    [
      'a lag with a unit it does not know',
      ['--max-lag-bytes', '16MB', '--member', 'a=127.0.0.1:1'],
      {},
      /--max-lag-bytes 16MB: expected bytes or a size such as 16MiB/,
    ],
    [
      'no password',
      ['--member', 'a=127.0.0.1:1'],
      { PGPASSWORD: undefined },
      /set the members' password in \$PGPASSWORD/,
    ],
    ['a bad member', ['--member', 'a=127.0.0.1'], {}, /--member a=127\.0\.0\.1: expected NAME=HOST:PORT/],
    ['an unknown option', ['--colour'], {}, /Unknown option '--colour'/],
    [
      '--stack without the CLI',
      ['--stack', 'dev'],
      { PATH: '/nonexistent' },
      /--stack reads the stack through the Pulumi CLI, which is not on PATH/,
    ],
  ];
  for (const [what, args, env, expected] of usage) {
    it(`exits 2 with one line on ${what}`, async function () {
      const run = await status(args, env);
      assert.equal(run.code, 2, run.stdout + run.stderr);
      assert.equal(run.stderr.split('\n').length, 1, run.stderr);
      assert.match(run.stderr, expected);
      assert.match(run.stderr, /\(see --help\)$/);
    });
  }

  it('judges lag against the limit as its unit says: 1KiB is 1024 bytes, 1MiB is 1048576', async function () {
    await waitFor(
      'every pair healthy again',
      async () => (await status(['--sslmode', 'disable', ...memberFlags(servers)])).code === 0,
      30_000,
    );
    const east = must(servers[0]);
    const west = must(servers[2]);
    // hippo-east's apply of hippo-west's rows waits on a lock (reads go on): the slot on hippo-west stops advancing.
    const holder = new Client(clientConfig(east.connection));
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE hippo_west IN EXCLUSIVE MODE');
      await query(
        west,
        `INSERT INTO hippos (value, created_at) SELECT NULL, now() FROM generate_series(1, 2000)`,
      );
      const pair = async (limit: string) => {
        const run = await status([
          '--sslmode',
          'disable',
          '--json',
          '--max-lag-bytes',
          limit,
          ...memberFlags(servers),
        ]);
        const report = JSON.parse(run.stdout) as {
          pairs: Array<{
            subscriber: string;
            publisher: string;
            status: string;
            problem?: string;
            lagBytes: number | null;
          }>;
        };
        return must(report.pairs.find((p) => p.subscriber === 'hippo-east' && p.publisher === 'hippo-west'));
      };
      await waitFor('a lag of more than 1 KiB', async () => ((await pair('1MiB')).lagBytes ?? 0) > 1024);
      const small = await pair('1KiB');
      assert.equal(small.status, 'lagging');
      assert.match(small.problem ?? '', /^lag \d+ bytes > 1024$/);
      const large = await pair('1MiB');
      assert.ok((large.lagBytes ?? 0) < 1048576, `the lag, ${large.lagBytes ?? 0} bytes, is under 1 MiB`);
      assert.equal(large.status, 'ok', large.problem);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
  });

  it('prints its help with exit 0', async function () {
    const help = await status(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: npm run status -- \(--stack NAME \| --member NAME=HOST:PORT \.\.\.\)/);
    assert.match(help.stdout, /Exit status: 0 healthy, 1 not healthy, 2 bad usage\./);
    assert.ok(existsSync(path.join(ROOT, 'scripts', 'status.ts')));
  });
});
