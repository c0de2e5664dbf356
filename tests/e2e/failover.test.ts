/**
 * A member's primary fails over, through the real engine, with writers running on every member.
 * Each primary has a streaming standby as a PGO instance's replica does (a physical slot,
 * `hot_standby_feedback`, synchronous: commits, the federation's applied ones included, wait for it).
 *
 * - PostgreSQL 17 and 18: every slot is a failover slot that the standbys keep in step (slot
 *   synchronisation); hippo-east is killed (-9), its standby promoted and moved to its port, and every
 *   subscription goes on from the synced slots: no re-copy (the copies' rows keep their identities),
 *   the same rows everywhere once writes stop, every acknowledged row there, and `up --refresh`
 *   finds nothing to change.
 * - PostgreSQL 14 (no slot synchronisation): the promoted standby holds no slot; status names the two
 *   broken pairs, `pulumi preview --refresh` replaces exactly those, `up --refresh` repairs them.
 *
 * "Rows lost" is measured against the writers' acknowledged commits: each member's writer keeps the
 * id of every INSERT whose commit returned; after the failover every one of them must be on every
 * member. (A commit in flight when the server died has no known outcome and is not counted.)
 */
import { strict as assert } from 'node:assert';
import { plan } from '../../components/plan';
import { parseFederationConfig } from '../../components/stackConfig';
import { ServerSet, type TestServer, query, waitFor } from '../../scripts/embedded/serverSet';
import { collect, subscriptionsOf } from '../../scripts/status/collect';
import { SEED_INSERT, converge, externalMember } from '../support/convergence';
import { EngineStack, changes, requireEngine } from '../support/engine';
import { TEST_PASSWORD } from '../support/secrets';
import { type Writers, startWriters } from '../../scripts/embedded/writers';

const NAMES = ['hippo-east', 'hippo-central', 'hippo-west'];

/** Every acknowledged row is on every member. */
async function assertNothingLost(servers: TestServer[], acked: Map<string, string[]>): Promise<number> {
  const all = [...acked.values()].flat();
  for (const s of servers) {
    const [row] = await query<{ n: number }>(
      s,
      'SELECT count(*)::int AS n FROM hippos WHERE id = ANY($1::uuid[])',
      [all],
    );
    assert.equal(row?.n, all.length, `${s.name} holds every acknowledged row (${all.length})`);
  }
  return all.length;
}

/** The identity (ctid, xmin) of each row of a landing copy: a re-copy would give every row new ones. */
async function identities(s: TestServer, partition: string): Promise<Map<string, string>> {
  const rows = await query<{ id: string; at: string }>(
    s,
    `SELECT id::text, ctid::text || '/' || xmin::text AS at FROM ${partition}`,
  );
  return new Map(rows.map((r) => [r.id, r.at]));
}

/** The health of every pair and copy, as `npm run status` reports it. */
async function status(set: ServerSet) {
  const config = parseFederationConfig({ members: NAMES.map((n) => externalMember(set.get(n))) });
  return collect(
    NAMES.map((n) => ({ name: n, connection: set.get(n).connection })),
    {
      tables: [{ schema: 'public', name: 'hippos' }],
      maxLagBytes: 1 << 24,
      subscriptions: subscriptionsOf(plan(config)),
    },
  );
}

for (const major of [17, 18]) {
  describe(`a member's primary fails over on PostgreSQL ${major}: the mesh goes on from failover slots`, function () {
    this.timeout(10 * 60_000);
    let set: ServerSet;
    let e: EngineStack;
    let writers: Writers | undefined;
    const servers = () => NAMES.map((n) => set.get(n));

    before(async function () {
      requireEngine(this);
      set = await ServerSet.start([]);
      for (const n of NAMES) await set.add(n, { major });
      e = await EngineStack.create(`failover-${major}`, {
        'pg-federation:syncTimeoutSeconds': 120,
        'pg-federation:members': NAMES.map((n) => externalMember(set.get(n))),
      });
      for (const n of NAMES) await e.setSecret(`passwords["${n}"]`, TEST_PASSWORD);
      assert.equal((await e.stack.up()).summary.result, 'succeeded');
      for (const s of servers()) await query(s, SEED_INSERT);
      await converge(servers(), 75);
      for (const n of NAMES) await set.addStandby(n, { synchronous: true });
    });
    after(async function () {
      await writers?.stop();
      await e?.stack.destroy().catch(() => undefined);
      await e?.remove();
      await set?.stopAll();
    });

    it('makes every slot a failover slot, and the standbys keep them in step (synced, ready to take over)', async function () {
      for (const s of servers()) {
        const slots = await query<{ slot_name: string; failover: boolean }>(
          s,
          "SELECT slot_name, failover FROM pg_replication_slots WHERE slot_type = 'logical' ORDER BY 1",
        );
        assert.equal(slots.length, 2, `${s.name} serves its 2 subscribers`);
        assert.ok(
          slots.every((r) => r.failover),
          `${s.name}: ${JSON.stringify(slots)}`,
        );
      }
      // A synced slot is usable after a promotion once the primary's slot has moved past where the
      // standby started (until then the standby keeps it temporary): a few writes and a snapshot record.
      const standby = set.standby('hippo-east');
      await waitFor(
        "hippo-east's standby holding both slots synced and ready",
        async () => {
          for (const s of servers())
            await query(s, SEED_INSERT.replace('generate_series(1,25)', 'generate_series(1,2)'));
          await query(set.get('hippo-east'), 'SELECT pg_log_standby_snapshot()');
          const [row] = await query<{ n: number }>(
            standby,
            "SELECT count(*)::int AS n FROM pg_replication_slots WHERE synced AND NOT temporary AND slot_type = 'logical'",
          );
          return row?.n === 2;
        },
        90_000,
      );
    });

    it('kills hippo-east while everyone writes; its standby takes over and every subscription goes on: no re-copy, nothing lost', async function () {
      const before = {
        central: await identities(set.get('hippo-central'), 'hippo_east'),
        west: await identities(set.get('hippo-west'), 'hippo_east'),
        slots: await query(
          set.get('hippo-east'),
          "SELECT slot_name FROM pg_replication_slots WHERE slot_type = 'logical' ORDER BY 1",
        ),
      };
      writers = startWriters(servers());
      await waitFor('rows written everywhere', async () => (writers?.count() ?? 0) > 60);
      await set.failOver('hippo-east');
      const afterFailover = writers.count();
      await waitFor(
        'writers going on after the failover',
        async () => (writers?.count() ?? 0) > afterFailover + 60,
      );
      const { acked } = await writers.stop();
      writers = undefined;
      await converge(servers(), undefined, { timeoutMs: 120_000 });
      const rows = await assertNothingLost(servers(), acked);
      assert.ok(rows > 120, `${rows} acknowledged rows`);
      console.log(
        `      ${rows} acknowledged rows (${acked.get('hippo-east')?.length ?? 0} on hippo-east), 0 lost, 0 re-copied`,
      );
      // The same slots, and hippo-east's rows that were copied before are the same tuples: no re-copy.
      assert.deepEqual(
        await query(
          set.get('hippo-east'),
          "SELECT slot_name FROM pg_replication_slots WHERE slot_type = 'logical' ORDER BY 1",
        ),
        before.slots,
      );
      for (const [holder, was] of [
        ['hippo-central', before.central],
        ['hippo-west', before.west],
      ] as const) {
        const now = await identities(set.get(holder), 'hippo_east');
        for (const [id, at] of was)
          assert.equal(now.get(id), at, `${holder}'s copy of row ${id} was not copied again`);
      }
    });

    it('`pulumi up --refresh` then finds nothing to change, and status is healthy', async function () {
      const up = await e.stack.up({ refresh: true });
      assert.deepEqual(changes(up.summary.resourceChanges), {});
      const report = await status(set);
      assert.equal(report.healthy, true, JSON.stringify(report.pairs.filter((p) => p.status !== 'ok')));
    });
  });
}

describe("a member's primary fails over on PostgreSQL 14: status names the broken pairs, `up --refresh` repairs them", function () {
  this.timeout(10 * 60_000);
  let set: ServerSet;
  let e: EngineStack;
  const servers = () => NAMES.map((n) => set.get(n));
  const members = () => NAMES.map((n) => externalMember(set.get(n)));
  /** What the writers had acknowledged when they stopped. */
  let ackedRows = new Map<string, string[]>();

  before(async function () {
    requireEngine(this);
    set = await ServerSet.start([]);
    for (const n of NAMES) await set.add(n, { major: 14 });
    e = await EngineStack.create('failover-14', {
      'pg-federation:syncTimeoutSeconds': 120,
      'pg-federation:members': members(),
    });
    for (const n of NAMES) await e.setSecret(`passwords["${n}"]`, TEST_PASSWORD);
    assert.equal((await e.stack.up()).summary.result, 'succeeded');
    for (const s of servers()) await query(s, SEED_INSERT);
    await converge(servers(), 75);
    await set.addStandby('hippo-east', { synchronous: true });
  });
  after(async function () {
    await e?.stack.destroy().catch(() => undefined);
    await e?.remove();
    await set?.stopAll();
  });

  it('after the failover, status names exactly the two pairs whose slots were on the old primary, and how to repair them', async function () {
    const writers = startWriters(servers());
    await waitFor('rows written everywhere', async () => writers.count() > 60);
    await set.failOver('hippo-east');
    const afterFailover = writers.count();
    await waitFor('writers going on after the failover', async () => writers.count() > afterFailover + 60);
    ackedRows = (await writers.stop()).acked;
    const report = await status(set);
    const broken = report.pairs.filter((p) => p.status !== 'ok');
    assert.deepEqual(
      broken.map((p) => [
        `${p.subscriber} <- ${p.publisher}`,
        p.problem?.split(' (')[0],
        p.fix?.split(' (')[0],
      ]),
      [
        ['hippo-central <- hippo-east', 'slot missing on hippo-east', '`pulumi up --refresh`'],
        ['hippo-west <- hippo-east', 'slot missing on hippo-east', '`pulumi up --refresh`'],
      ],
    );
    assert.equal(report.healthy, false);
  });

  it('`pulumi preview --refresh` replaces exactly those two subscriptions; `up --refresh` makes every member whole', async function () {
    const preview = await e.stack.preview({ refresh: true });
    assert.deepEqual(changes(preview.changeSummary), { replace: 2 });
    for (const name of ['hippo-central-sub-hippo-east', 'hippo-west-sub-hippo-east']) {
      assert.match(preview.stdout, new RegExp(`${name}`), `the preview names ${name}`);
    }
    const up = await e.stack.up({ refresh: true });
    assert.deepEqual(changes(up.summary.resourceChanges), { replace: 2 });
    await converge(servers(), undefined, { timeoutMs: 120_000 });
    const rows = await assertNothingLost(servers(), ackedRows);
    console.log(`      ${rows} acknowledged rows, 0 lost; 2 pairs re-copied`);
    assert.deepEqual(changes((await e.stack.preview()).changeSummary), {});
    for (const s of servers()) {
      const slots = await query<{ n: number }>(
        s,
        "SELECT count(*)::int AS n FROM pg_replication_slots WHERE slot_type = 'logical'",
      );
      assert.deepEqual(slots, [{ n: 2 }], `${s.name} serves its two subscribers, no more`);
    }
  });
});
