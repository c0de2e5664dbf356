/**
 * `npm run status` is never green while replication is broken: a live federation broken one way at a
 * time — a subscription disabled, an apply worker failing on a conflicting row or a refused login, no
 * worker slot, a slot dropped, an own partition dropped from its publication — exits 1 on every run
 * while broken, names the reason and prints the command that repairs it; once repaired, it is
 * healthy again. (A slot lost past the WAL budget, a member unreachable, lag and drift of shape are
 * in status.test.ts and the engine suites walBudget, schema and failover.)
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ServerSet, type TestServer, query, waitFor } from '../../scripts/embedded/serverSet';
import { FederationDriver, configFor } from '../support/federationDriver';
import { must } from '../support/must';
import { asReplica, memberFlags, status } from '../support/statusRun';

describe('npm run status on a broken federation (embedded PostgreSQL)', function () {
  let set: ServerSet;
  let servers: TestServer[];
  before(async function () {
    set = await ServerSet.start(['hippo-east', 'hippo-central', 'hippo-west']);
    servers = ['hippo-east', 'hippo-central', 'hippo-west'].map((n) => set.get(n));
    await new FederationDriver(set).up(configFor(servers));
    for (const s of servers) {
      await query(s, `INSERT INTO hippos (value, created_at) SELECT NULL, now() FROM generate_series(1, 25)`);
    }
    await waitFor(
      'healthy',
      async () => (await status(['--sslmode', 'disable', ...memberFlags(servers)])).code === 0,
    );
  });
  after(async function () {
    await set?.stopAll();
  });

  describe('never green while replication is broken: each case exits 1 with its reason and its repair', function () {
    interface Pair {
      subscriber: string;
      publisher: string;
      status: string;
      problem?: string;
      fix?: string;
    }
    const report = async () => {
      const run = await status(['--sslmode', 'disable', '--json', ...memberFlags(servers)]);
      return {
        code: run.code,
        report: JSON.parse(run.stdout) as {
          healthy: boolean;
          pairs: Pair[];
          members: Array<{ name: string; unpublished: string[] }>;
        },
      };
    };
    const pairOf = (r: { pairs: Pair[] }, subscriber: string, publisher: string): Pair =>
      must(r.pairs.find((p) => p.subscriber === subscriber && p.publisher === publisher));
    /**
     * While broken, every run of status exits 1 (sampled until `shows` holds, and three times
     * more); once repaired, it is healthy again.
     */
    async function neverGreen(
      shows: (r: Awaited<ReturnType<typeof report>>['report']) => boolean,
      timeoutMs = 30_000,
    ): Promise<Awaited<ReturnType<typeof report>>['report']> {
      let last: Awaited<ReturnType<typeof report>> | undefined;
      await waitFor(
        'status to name the fault',
        async () => {
          last = await report();
          assert.equal(last.code, 1, JSON.stringify(last.report.pairs));
          return shows(last.report);
        },
        timeoutMs,
        async () => JSON.stringify(last?.report.pairs.filter((p) => p.status !== 'ok')),
      );
      for (let i = 0; i < 3; i++) assert.equal((await report()).code, 1);
      return must(last).report;
    }
    const healthyAgain = () =>
      waitFor('status healthy again', async () => (await report()).code === 0, 60_000);
    const versionOf = async (s: TestServer) =>
      Number((await query<{ v: string }>(s, "SELECT current_setting('server_version_num') AS v"))[0]?.v);
    const east = () => set.get('hippo-east');
    const west = () => set.get('hippo-west');
    const write = (s: TestServer, n: number) =>
      query(s, `INSERT INTO hippos (value, created_at) SELECT NULL, now() FROM generate_series(1, ${n})`);

    it('a disabled subscription: "subscription disabled", fixed by `pulumi up`', async function () {
      await query(east(), 'ALTER SUBSCRIPTION sub_hippo_east_hippo_west DISABLE');
      try {
        const r = await neverGreen((x) => pairOf(x, 'hippo-east', 'hippo-west').status === 'broken');
        const pair = pairOf(r, 'hippo-east', 'hippo-west');
        assert.equal(pair.problem, 'subscription disabled');
        assert.equal(pair.fix, '`pulumi up` (it enables it)');
      } finally {
        await query(east(), 'ALTER SUBSCRIPTION sub_hippo_east_hippo_west ENABLE');
      }
      await healthyAgain();
    });

    /** The problem a worker that keeps failing shows: counted errors on 15+, before 15 a worker seen absent. */
    const failingWorker = async (subscriber: string) =>
      (await versionOf(set.get(subscriber))) >= 150000
        ? new RegExp(
            `^apply worker failing on ${subscriber}: [1-9]\\d* errors since its statistics were reset`,
          )
        : /^no apply worker running$/;
    /** The error count outlives the fault: a worker started again within 30s would be judged by it. */
    const resetErrors = async (s: TestServer) => {
      if ((await versionOf(s)) >= 150000) await query(s, 'SELECT pg_stat_reset_subscription_stats(NULL)');
    };

    it('an apply worker failing in a loop on a row a superuser planted: named, with the re-copy command', async function () {
      // A row in hippo-east's copy of hippo-west's rows, planted past the guards; hippo-west then
      // writes a row with the same key: hippo-east's apply fails on it, again and again.
      const [planted] = await asReplica<{ id: string }>(
        east(),
        `INSERT INTO hippo_west (node_name, created_at) VALUES ('hippo-west', now()) RETURNING id`,
      );
      const id = must(planted).id;
      const expected = await failingWorker('hippo-east');
      try {
        await query(west(), 'INSERT INTO hippos (id, value, created_at) VALUES ($1, NULL, now())', [id]);
        const r = await neverGreen(
          (x) => expected.test(pairOf(x, 'hippo-east', 'hippo-west').problem ?? ''),
          45_000,
        );
        const pair = pairOf(r, 'hippo-east', 'hippo-west');
        assert.equal(pair.status, 'broken');
        if ((await versionOf(east())) >= 150000) {
          assert.equal(
            pair.fix,
            "hippo-east's server log says why: a row in its copy that conflicts with hippo-west's change " +
              "(remove it, or re-copy hippo-west's rows: `pulumi up --target-replace '<the URN of " +
              "hippo-east-sub-hippo-west: `pulumi stack --show-urns`>'`); a login hippo-west refuses " +
              '(`pulumi up --refresh` restores the replication role)',
          );
        }
        // The other pairs still flow.
        assert.equal(pairOf(r, 'hippo-central', 'hippo-west').status, 'ok');
        const log = readFileSync(path.join(east().dataDir, 'server.log'), 'utf8');
        assert.match(log, /duplicate key value violates unique constraint|conflict=insert_exists/);
      } finally {
        await asReplica(east(), 'DELETE FROM hippo_west WHERE id = $1', [id]);
      }
      await waitFor(
        'the row applied',
        async () => (await query(east(), 'SELECT 1 FROM hippo_west WHERE id = $1', [id])).length === 1,
      );
      await resetErrors(east());
      await healthyAgain();
    });

    it('a login the publisher refuses: both its subscribers named, with the command that restores the role', async function () {
      await query(west(), 'ALTER ROLE federation_replicator NOLOGIN');
      const expected = await failingWorker('hippo-east');
      try {
        await query(
          west(),
          `SELECT pg_terminate_backend(pid) FROM pg_stat_replication WHERE usename = 'federation_replicator'`,
        );
        await write(west(), 3);
        const r = await neverGreen(
          (x) =>
            expected.test(pairOf(x, 'hippo-east', 'hippo-west').problem ?? '') &&
            expected.test(
              (pairOf(x, 'hippo-central', 'hippo-west').problem ?? '').replace('hippo-central', 'hippo-east'),
            ),
        );
        assert.match(pairOf(r, 'hippo-east', 'hippo-west').fix ?? '', /`pulumi up --refresh`/);
        assert.equal(pairOf(r, 'hippo-west', 'hippo-east').status, 'ok');
      } finally {
        await query(west(), 'ALTER ROLE federation_replicator LOGIN');
      }
      await resetErrors(east());
      await resetErrors(set.get('hippo-central'));
      await healthyAgain();
    });

    it('no apply worker (no worker slot left for it): "no apply worker running"', async function () {
      // hippo-east restarted with one logical replication worker for its two subscriptions.
      await east().stop();
      await east().start({ max_logical_replication_workers: '1' });
      try {
        const r = await neverGreen((x) =>
          [pairOf(x, 'hippo-east', 'hippo-west'), pairOf(x, 'hippo-east', 'hippo-central')].some(
            (p) => p.problem === 'no apply worker running',
          ),
        );
        const starved = [pairOf(r, 'hippo-east', 'hippo-west'), pairOf(r, 'hippo-east', 'hippo-central')];
        assert.deepEqual(starved.map((p) => p.status).sort(), ['broken', 'ok']);
        const pair = must(starved.find((p) => p.status === 'broken'));
        assert.equal(pair.fix, "see hippo-east's server log; then `pulumi up --refresh`");
      } finally {
        await east().stop();
        await east().start();
      }
      await healthyAgain();
    });

    it("a slot missing on the publisher: named even before the worker's failure, fixed by `pulumi up --refresh`", async function () {
      await query(east(), 'ALTER SUBSCRIPTION sub_hippo_east_hippo_west DISABLE');
      await waitFor('the slot released', async () => {
        const [slot] = await query<{ active: boolean }>(
          west(),
          `SELECT active FROM pg_replication_slots WHERE slot_name = 'sub_hippo_east_hippo_west'`,
        );
        return slot?.active === false;
      });
      await query(west(), `SELECT pg_drop_replication_slot('sub_hippo_east_hippo_west')`);
      await query(east(), 'ALTER SUBSCRIPTION sub_hippo_east_hippo_west ENABLE');
      try {
        const r = await neverGreen((x) => pairOf(x, 'hippo-east', 'hippo-west').status === 'broken');
        const pair = pairOf(r, 'hippo-east', 'hippo-west');
        assert.match(pair.problem ?? '', /^slot missing on hippo-west/);
        assert.match(
          pair.fix ?? '',
          /^`pulumi up --refresh` \(it makes the slot again and re-copies hippo-west's rows\)$/,
        );
      } finally {
        // What the repair does, by hand here (no rows were written meanwhile): the slot made again.
        await query(
          west(),
          `SELECT pg_create_logical_replication_slot('sub_hippo_east_hippo_west', 'pgoutput')`,
        );
      }
      await healthyAgain();
    });

    it('an own partition dropped from its publication: the member says its peers get none of it, fix `pulumi up --refresh`', async function () {
      await query(east(), 'ALTER PUBLICATION pub_hippo_east DROP TABLE public.hippo_east');
      try {
        const r = await neverGreen((x) => x.members.some((m) => m.unpublished.length > 0));
        assert.deepEqual(
          r.members.map((m) => [m.name, m.unpublished]),
          [
            ['hippo-east', ['public.hippo_east']],
            ['hippo-central', []],
            ['hippo-west', []],
          ],
        );
        const text = await status(['--sslmode', 'disable', ...memberFlags(servers)]);
        assert.match(
          text.stdout,
          /^hippo-east: NOT PUBLISHED: public\.hippo_east \(its peers get none of these rows\); fix: `pulumi up --refresh`$/m,
        );
      } finally {
        await query(east(), 'ALTER PUBLICATION pub_hippo_east ADD TABLE public.hippo_east');
      }
      await healthyAgain();
    });
  });
});
