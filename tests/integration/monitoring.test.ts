/**
 * The monitoring queries (components/monitoring/queries.ts) on a live embedded federation of two
 * members, hippo-west with a streaming standby, read as PGO's exporter reads them: by a login role
 * with pg_monitor only, as pgMonitor's `ccp_monitoring` is. Every query of this major runs and
 * returns exactly the columns it declares (those of newer majors fail here: what they read is
 * missing); a standby answers none; and the values move as the faults they report: a subscription
 * disabled and enabled, a subscriber stopped while its publisher writes, a publisher's walsender
 * stalled, a row that makes the apply fail (counted on 15+, its conflict on 18+), a slot past the WAL
 * budget. Run on each major with PG_FEDERATION_POSTGRES=14..18.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { type ExporterQuery, exporterQueries, queriesForMajor } from '../../components/monitoring/queries';
import { clientConfig } from '../../components/providers/connection';
import { MAJOR, ServerSet, type TestServer, query, waitFor } from '../../scripts/embedded/serverSet';
import { FederationDriver, configFor } from '../support/federationDriver';
import { must } from '../support/must';
import { GENERATED_SECRETS } from '../support/secrets';
import { asReplica } from '../support/statusRun';

const MONITOR = 'ccp_monitoring';
const MONITOR_PASSWORD = randomBytes(18).toString('base64url');
GENERATED_SECRETS.add(MONITOR_PASSWORD);
/** Small enough that a few switched WAL segments pass it. */
const BUDGET = '64MB';

type Row = Record<string, unknown>;

/** Run a query as the monitoring role: its rows and the names of the columns it returned. */
async function asMonitor(server: TestServer, sql: string): Promise<{ columns: string[]; rows: Row[] }> {
  const client = new Client(
    clientConfig({ ...server.connection, user: MONITOR, password: MONITOR_PASSWORD }),
  );
  await client.connect();
  try {
    const result = await client.query<Row>(sql);
    return { columns: result.fields.map((f) => f.name), rows: result.rows };
  } finally {
    await client.end();
  }
}

describe(`the monitoring queries on PostgreSQL ${MAJOR} (embedded)`, function () {
  let set: ServerSet;
  let east: TestServer;
  let west: TestServer;
  let standby: TestServer;
  const all = (member: string) =>
    exporterQueries({ member, database: 'postgres', tables: [{ schema: 'public', name: 'hippos' }] });
  const named = (member: string, namespace: string): ExporterQuery =>
    must(all(member).find((q) => q.namespace === namespace));
  /** The rows of one query on a member's server, as numbers where the exporter reads numbers. */
  const read = async (server: TestServer, namespace: string) =>
    (await asMonitor(server, named(server.name, namespace).sql)).rows.map((r) =>
      Object.fromEntries(
        Object.entries(r).map(([k, v]) => [k, typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v]),
      ),
    );
  const subscription = async (server: TestServer, name: string) =>
    must((await read(server, 'pg_federation_subscription')).find((r) => r.subscription === name));
  const slot = async (server: TestServer, name: string) =>
    must((await read(server, 'pg_federation_slot')).find((r) => r.slot === name));
  const EAST_FROM_WEST = 'sub_hippo_east_hippo_west';
  /**
   * A change that leaves every count as it was (a row of each member's own written unchanged),
   * applied on its subscribers: PostgreSQL 14's apply worker reports its statistics only when it
   * commits a change, at most every 500 ms, so there a landing's count shows a transaction's rows
   * once a later change is applied (15+ reports them when idle too).
   */
  const tick = async () => {
    for (const s of [east, west].filter((x) => x.running)) {
      const own = s.name.replace('-', '_');
      await query(s, `UPDATE ${own} SET value = value WHERE id = (SELECT id FROM ${own} LIMIT 1)`);
    }
  };
  const write = (s: TestServer, n: number) =>
    query(s, `INSERT INTO hippos (value, created_at) SELECT NULL, now() FROM generate_series(1, ${n})`);

  before(async function () {
    set = await ServerSet.start(['hippo-east', 'hippo-west'], {
      settings: { max_slot_wal_keep_size: BUDGET },
    });
    east = set.get('hippo-east');
    west = set.get('hippo-west');
    for (const s of [east, west]) {
      // pgMonitor's role, as its setup.sql makes it: a login with pg_monitor.
      await query(s, `CREATE ROLE ${MONITOR} LOGIN PASSWORD '${MONITOR_PASSWORD}' IN ROLE pg_monitor`);
    }
    standby = await set.addStandby('hippo-west');
    await new FederationDriver(set).up(configFor([east, west]));
    for (const s of [east, west]) await write(s, 25);
    await waitFor('50 rows on both', async () => {
      const counts = await Promise.all(
        [east, west].map((s) => query<{ n: number }>(s, 'SELECT count(*)::int AS n FROM hippos')),
      );
      return counts.every((rows) => rows[0]?.n === 50);
    });
  });
  after(async function () {
    await set?.stopAll();
  });

  it(`runs every query of PostgreSQL ${MAJOR} as a pg_monitor role, each returning the columns it declares`, async function () {
    const mine = queriesForMajor(all('hippo-east'), MAJOR);
    assert.deepEqual(
      mine.map((q) => q.namespace),
      all('hippo-east')
        .filter((q) => q.minMajor <= MAJOR)
        .map((q) => q.namespace),
    );
    for (const server of [east, west]) {
      for (const q of queriesForMajor(all(server.name), MAJOR)) {
        const { columns, rows } = await asMonitor(server, q.sql);
        assert.deepEqual(
          columns,
          q.columns.map((c) => c.name),
          `${server.name} ${q.namespace}`,
        );
        assert.ok(rows.length > 0, `${server.name} ${q.namespace} has rows`);
        for (const row of rows) {
          assert.equal(row.member, server.name);
          for (const c of q.columns.filter((x) => x.usage !== 'LABEL')) {
            const value = row[c.name];
            // What postgres_exporter turns into a float: a number, numeric text, or NULL (NaN).
            assert.ok(
              value === null || Number.isFinite(Number(value)),
              `${q.namespace}.${c.name} = ${String(value)}`,
            );
          }
        }
      }
    }
    // The queries of newer majors read what this one lacks: the exporter would log an error each scrape.
    for (const q of all('hippo-east').filter((x) => x.minMajor > MAJOR)) {
      await assert.rejects(asMonitor(east, q.sql), /does not exist/, q.namespace);
    }
  });

  it('reports a healthy pair: enabled, its worker running, its slot active and reserved, 25 rows per partition', async function () {
    const sub = await subscription(east, EAST_FROM_WEST);
    assert.deepEqual([sub.publication, sub.enabled, sub.worker_running], ['pub_hippo_west', 1, 1]);
    assert.ok(Number(sub.last_message_age_seconds) >= 0);
    const s = await slot(west, EAST_FROM_WEST);
    assert.deepEqual([s.active, s.wal_status, s.lost, s.wal_budget_bytes], [1, 0, 0, 64 * 2 ** 20]);
    assert.ok(Number(s.lag_bytes) >= 0 && Number(s.retained_bytes) >= 0);
    for (const server of [east, west]) {
      await waitFor(`${server.name}: 25 rows in each partition, by the statistics`, async () => {
        await tick();
        const rows = await read(server, 'pg_federation_partition');
        return (
          JSON.stringify(rows.map((r) => [r.table, r.partition, r.owner, r.rows]).sort()) ===
          JSON.stringify([
            ['public.hippos', 'hippo_east', 'hippo-east', 25],
            ['public.hippos', 'hippo_west', 'hippo-west', 25],
          ])
        );
      });
    }
  });

  it('answers nothing on a standby, whose catalog and slots are copies of its primary’s', async function () {
    // What a query would report there but for its primary-only filter.
    const [copied] = await query<{ n: number }>(standby, 'SELECT count(*)::int AS n FROM pg_subscription');
    assert.equal(copied?.n, 1, "the standby holds hippo-west's subscription");
    for (const q of queriesForMajor(all('hippo-west'), MAJOR)) {
      const { columns, rows } = await asMonitor(standby, q.sql);
      assert.deepEqual(
        columns,
        q.columns.map((c) => c.name),
      );
      assert.deepEqual(rows, [], q.namespace);
    }
  });

  it('a subscription disabled: enabled and worker 1 → 0 (no message age), its slot inactive; enabled again: 1', async function () {
    await query(east, `ALTER SUBSCRIPTION ${EAST_FROM_WEST} DISABLE`);
    try {
      await waitFor('the worker gone', async () => {
        const sub = await subscription(east, EAST_FROM_WEST);
        return sub.enabled === 0 && sub.worker_running === 0 && sub.last_message_age_seconds === null;
      });
      await waitFor('the slot inactive', async () => (await slot(west, EAST_FROM_WEST)).active === 0);
    } finally {
      await query(east, `ALTER SUBSCRIPTION ${EAST_FROM_WEST} ENABLE`);
    }
    await waitFor('the worker back', async () => {
      const sub = await subscription(east, EAST_FROM_WEST);
      return sub.enabled === 1 && sub.worker_running === 1;
    });
    await waitFor('the slot active', async () => (await slot(west, EAST_FROM_WEST)).active === 1);
  });

  it('a subscriber stopped: its slot inactive, lag and retained WAL growing with its publisher’s writes; back, caught up', async function () {
    await waitFor(
      'caught up',
      async () => Number((await slot(west, EAST_FROM_WEST)).lag_bytes) === 0,
      10_000,
    ).catch(
      () => undefined, // some WAL may be in flight; what matters is the growth below
    );
    await east.stop();
    try {
      await waitFor('the slot inactive', async () => (await slot(west, EAST_FROM_WEST)).active === 0);
      const before = await slot(west, EAST_FROM_WEST);
      await write(west, 2000);
      const during = await slot(west, EAST_FROM_WEST);
      assert.ok(
        Number(during.lag_bytes) > Number(before.lag_bytes) + 100_000,
        `lag ${String(before.lag_bytes)} → ${String(during.lag_bytes)}`,
      );
      assert.ok(Number(during.retained_bytes) > Number(before.retained_bytes) + 100_000);
      await waitFor('the publisher counts its rows', async () =>
        (await read(west, 'pg_federation_partition')).some(
          (r) => r.owner === 'hippo-west' && r.rows === 2025,
        ),
      );
    } finally {
      await east.start();
    }
    await waitFor(
      'the worker running again',
      async () => (await subscription(east, EAST_FROM_WEST)).worker_running === 1,
    );
    await waitFor(
      'the slot active and caught up',
      async () => {
        const s = await slot(west, EAST_FROM_WEST);
        return s.active === 1 && Number(s.lag_bytes) < 100_000;
      },
      30_000,
    );
    await waitFor('the subscriber counts the rows it applied', async () => {
      await tick();
      return (await read(east, 'pg_federation_partition')).some(
        (r) => r.owner === 'hippo-west' && r.rows === 2025,
      );
    });
  });

  it("a publisher's walsender stalled: the worker still runs, its last message ages", async function () {
    await write(west, 1); // a fresh message
    const [sender] = await query<{ pid: number }>(
      west,
      'SELECT pid FROM pg_stat_replication WHERE application_name = $1',
      [EAST_FROM_WEST],
    );
    const pid = must(sender).pid;
    await waitFor(
      'a recent message',
      async () => Number((await subscription(east, EAST_FROM_WEST)).last_message_age_seconds) < 5,
    );
    process.kill(pid, 'SIGSTOP');
    try {
      const first = Number((await subscription(east, EAST_FROM_WEST)).last_message_age_seconds);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const later = await subscription(east, EAST_FROM_WEST);
      assert.equal(later.worker_running, 1);
      assert.ok(
        Number(later.last_message_age_seconds) >= first + 2.5,
        `${first} → ${String(later.last_message_age_seconds)}`,
      );
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await write(west, 1);
    await waitFor(
      'messages again',
      async () => Number((await subscription(east, EAST_FROM_WEST)).last_message_age_seconds) < 2,
    );
  });

  it('a row that makes the apply fail: apply errors counted (15+; on 14 the worker seen down), its conflict (18+); removed, no more', async function () {
    const counted = MAJOR >= 15;
    assert.equal(
      queriesForMajor(all('hippo-east'), MAJOR).some(
        (q) => q.namespace === 'pg_federation_subscription_stats',
      ),
      counted,
    );
    const errors = async () =>
      counted
        ? Number(
            must(
              (await read(east, 'pg_federation_subscription_stats')).find(
                (r) => r.subscription === EAST_FROM_WEST,
              ),
            ).apply_error_count,
          )
        : 0;
    const before = await errors();
    const [planted] = await asReplica<{ id: string }>(
      east,
      `INSERT INTO hippo_west (node_name, created_at) VALUES ('hippo-west', now()) RETURNING id`,
    );
    const id = must(planted).id;
    try {
      await query(west, 'INSERT INTO hippos (id, value, created_at) VALUES ($1, NULL, now())', [id]);
      if (counted) {
        await waitFor('apply errors counted', async () => (await errors()) >= before + 2);
      } else {
        // The worker dies on the error and is started again: some samples find none.
        await waitFor(
          'the worker seen down',
          async () => (await subscription(east, EAST_FROM_WEST)).worker_running === 0,
        );
      }
      if (MAJOR >= 18) {
        const conflicts = must(
          (await read(east, 'pg_federation_subscription_conflicts')).find(
            (r) => r.subscription === EAST_FROM_WEST,
          ),
        );
        assert.ok(Number(conflicts.insert_exists) >= 1, JSON.stringify(conflicts));
      }
    } finally {
      await asReplica(east, 'DELETE FROM hippo_west WHERE id = $1', [id]);
    }
    await waitFor(
      'the row applied',
      async () => (await query(east, 'SELECT 1 FROM hippo_west WHERE id = $1', [id])).length === 1,
    );
    const settled = await errors();
    await write(west, 3);
    const count = async (s: TestServer) =>
      (await query<{ n: number }>(s, 'SELECT count(*)::int AS n FROM hippo_west'))[0]?.n;
    const written = await count(west);
    await waitFor('the writes applied', async () => (await count(east)) === written);
    assert.equal(await errors(), settled, 'no more errors');
    assert.equal((await subscription(east, EAST_FROM_WEST)).worker_running, 1);
    if (counted) {
      const stats = must(
        (await read(east, 'pg_federation_subscription_stats')).find((r) => r.subscription === EAST_FROM_WEST),
      );
      assert.equal(stats.sync_error_count, 0);
    }
  });

  it('a slot past the WAL budget while its subscriber is away: wal_status 0 → 2 (unreserved), then 3 and lost at the checkpoint', async function () {
    // Last: the pair stays broken (pulumi up --refresh would make it a new slot).
    await east.stop();
    await waitFor('the slot inactive', async () => (await slot(west, EAST_FROM_WEST)).active === 0);
    assert.equal((await slot(west, EAST_FROM_WEST)).wal_status, 0);
    for (let i = 0; i < 6; i++) {
      await query(west, "SELECT pg_logical_emit_message(false, 'pg-federation-test', 'x')");
      await query(west, 'SELECT pg_switch_wal()');
    }
    const away = await slot(west, EAST_FROM_WEST);
    assert.equal(away.wal_status, 2, JSON.stringify(away));
    assert.ok(Number(away.retained_bytes) > Number(away.wal_budget_bytes));
    assert.equal(away.lost, 0);
    await query(west, 'CHECKPOINT');
    const lost = await slot(west, EAST_FROM_WEST);
    assert.deepEqual([lost.wal_status, lost.lost], [3, 1], JSON.stringify(lost));
  });
});
