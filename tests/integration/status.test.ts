/**
 * `npm run status` against a live embedded federation: healthy, then with one member stopped.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { collect, renderReport } from '../../scripts/statusReport';
import { ServerSet, TEST_PASSWORD, type TestServer, query, waitFor } from '../support/embeddedServers';
import { FederationDriver, configFor } from '../support/federationDriver';

const ROOT = path.join(__dirname, '..', '..');

function runStatus(servers: TestServer[], extra: string[] = []) {
  const args = ['run', '--silent', 'status', '--', '--sslmode', 'disable', ...extra];
  for (const s of servers) args.push('--member', `${s.name}=127.0.0.1:${s.port}`);
  return spawnSync('npm', args, {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, PGPASSWORD: TEST_PASSWORD },
  });
}

describe('npm run status on embedded PostgreSQL 14', function () {
  let set: ServerSet;
  let servers: TestServer[];
  before(async function () {
    set = await ServerSet.start(['hippo-east', 'hippo-central', 'hippo-west']);
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

  it('reports every pair ok and equal counts on a healthy federation, exit 0', async function () {
    const report = await collect(
      servers.map((s) => ({ name: s.name, connection: s.connection })),
      { table: 'hippos', maxLagBytes: 16 * 1024 * 1024 },
    );
    assert.equal(report.pairs.length, 6);
    for (const pair of report.pairs) {
      assert.equal(pair.status, 'ok', `${pair.subscription}: ${pair.problem ?? ''}`);
      assert.deepEqual(
        [pair.enabled, pair.workerRunning, pair.syncState, pair.slotActive],
        [true, true, 'r', true],
      );
      assert.ok(pair.lagBytes !== null && pair.lagBytes >= 0);
    }
    assert.deepEqual(
      report.members.map((m) => m.counts),
      servers.map(() => ({ 'hippo-central': 25, 'hippo-east': 25, 'hippo-west': 25 })),
    );
    assert.equal(report.healthy, true);
    assert.match(renderReport(report), /hippo-east <- hippo-west\s+yes\s+yes\s+r\s+\S+\s+\d+\s+ok/);

    const cli = runStatus(servers);
    assert.equal(cli.status, 0, cli.stdout + cli.stderr);
    assert.match(cli.stdout, /^healthy$/m);
    const json = runStatus(servers, ['--json']);
    assert.equal(json.status, 0);
    assert.equal((JSON.parse(json.stdout) as { healthy: boolean }).healthy, true);
  });

  it('marks the pairs of a stopped member and the divergence plainly, exit 1', async function () {
    const west = set.get('hippo-west');
    await west.stop();
    try {
      const cli = runStatus(servers);
      assert.equal(cli.status, 1, cli.stdout + cli.stderr);
      assert.match(cli.stdout, /hippo-east <- hippo-west .*BROKEN: publisher hippo-west unreachable/);
      assert.match(cli.stdout, /hippo-west <- hippo-east .*UNKNOWN: subscriber hippo-west unreachable/);
      assert.match(cli.stdout, /^hippo-west .*UNREACHABLE: cannot connect to member "hippo-west"/m);
      assert.match(cli.stdout, /^NOT HEALTHY$/m);
      assert.ok(!cli.stdout.includes(TEST_PASSWORD) && !cli.stderr.includes(TEST_PASSWORD));
      const report = JSON.parse(runStatus(servers, ['--json']).stdout) as {
        healthy: boolean;
        countsDiverge: boolean;
      };
      assert.deepEqual([report.healthy, report.countsDiverge], [false, true]);
    } finally {
      await west.start();
    }
  });

  it('says how to call it when called wrong, exit 2', function () {
    const cli = spawnSync('npm', ['run', '--silent', 'status'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(cli.status, 2);
    assert.match(cli.stderr, /usage: npm run status -- \(--stack NAME \| --member NAME=HOST:PORT \.\.\.\)/);
  });
});
