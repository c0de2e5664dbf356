/**
 * A member away for long, through the real engine: with a WAL budget of 64MB, hippo-central is
 * stopped and four times the budget is written on the others. Their pg_wal stays bounded (their
 * `max_wal_size` is small, so the budget and not the checkpoint distance is what bounds it), the
 * slots kept for hippo-central are lost instead of filling a disk, status says so and how to
 * repair; hippo-central comes back and `pulumi up --refresh` re-copies exactly those two pairs.
 * Then two of the repairs status prints, made by the engine: a replication role refused its login and
 * an own partition dropped from its publication, each one update of `pulumi up --refresh`.
 */
import { strict as assert } from 'node:assert';
import { plan } from '../../components/plan';
import { parseFederationConfig } from '../../components/stackConfig';
import { ServerSet, type TestServer, query, waitFor } from '../../scripts/embedded/serverSet';
import { collect, subscriptionsOf } from '../../scripts/status/collect';
import { SEED_INSERT, converge, externalMember } from '../support/convergence';
import { EngineStack, changes, requireEngine } from '../support/engine';
import { TEST_PASSWORD } from '../support/secrets';

const NAMES = ['hippo-east', 'hippo-central', 'hippo-west'];
const BUDGET_MB = 64;
const MiB = 2 ** 20;

/** The size of a server's pg_wal. */
async function walBytes(s: TestServer): Promise<number> {
  return Number(
    (await query<{ b: string }>(s, 'SELECT sum(size)::text AS b FROM pg_ls_waldir()'))[0]?.b ?? 0,
  );
}

describe('a member away past the WAL budget, through the real engine', function () {
  this.timeout(10 * 60_000);
  let set: ServerSet;
  let e: EngineStack;
  const servers = () => NAMES.map((n) => set.get(n));
  const members = () => NAMES.map((n) => externalMember(set.get(n)));
  const status = () =>
    collect(
      servers().map((s) => ({ name: s.name, connection: s.connection })),
      {
        tables: [{ schema: 'public', name: 'hippos' }],
        maxLagBytes: 1 << 30,
        subscriptions: subscriptionsOf(plan(parseFederationConfig({ members: members() }))),
      },
    );

  before(async function () {
    requireEngine(this);
    set = await ServerSet.start(NAMES, {
      settings: { max_wal_size: '64MB', min_wal_size: '32MB', checkpoint_timeout: '30s' },
    });
    e = await EngineStack.create('wal-budget', {
      'pg-federation:syncTimeoutSeconds': 120,
      'pg-federation:maxSlotWalKeepSize': `${BUDGET_MB}MB`,
      'pg-federation:members': members(),
    });
    for (const n of NAMES) await e.setSecret(`passwords["${n}"]`, TEST_PASSWORD);
    assert.equal((await e.stack.up()).summary.result, 'succeeded');
    for (const s of servers()) await query(s, SEED_INSERT);
    await converge(servers(), 75);
  });
  after(async function () {
    await e?.stack.destroy().catch(() => undefined);
    await e?.remove();
    await set?.stopAll();
  });

  it('sets the budget on every server, and status shows it against each slot', async function () {
    for (const s of servers()) {
      const [row] = await query<{ v: string }>(s, "SELECT current_setting('max_slot_wal_keep_size') AS v");
      assert.equal(row?.v, '64MB', s.name);
    }
    const report = await status();
    assert.ok(report.healthy);
    assert.ok(report.pairs.every((p) => p.budgetBytes === BUDGET_MB * MiB && p.walStatus === 'reserved'));
  });

  it('with hippo-central stopped, 4× the budget written elsewhere: their pg_wal stays bounded, its slots are lost, status says so', async function () {
    const central = set.get('hippo-central');
    await central.stop();
    try {
      for (const s of [set.get('hippo-east'), set.get('hippo-west')]) {
        // WAL without rows: 1MB messages (pgoutput sends them to no one), then checkpoints, where
        // a slot past its budget is invalidated.
        for (let i = 0; i < 4 * BUDGET_MB; i++) {
          await query(s, "SELECT pg_logical_emit_message(false, 'pg-federation-test', repeat('x', 1048576))");
          if (i % 32 === 31) await query(s, 'CHECKPOINT');
        }
        await query(s, 'CHECKPOINT');
        await query(s, 'CHECKPOINT');
      }
      for (const s of [set.get('hippo-east'), set.get('hippo-west')]) {
        const wal = await walBytes(s);
        console.log(
          `      ${s.name}: pg_wal ${Math.round(wal / MiB)}MB after ${4 * BUDGET_MB}MB written with a ${BUDGET_MB}MB budget`,
        );
        // The budget, the checkpoint distance (max_wal_size) and a few segments in flight: far
        // under the 256MB written.
        assert.ok(wal <= (BUDGET_MB + 64 + 48) * MiB, `${s.name}: pg_wal is ${Math.round(wal / MiB)}MB`);
        const [slot] = await query<{ wal_status: string }>(
          s,
          'SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1',
          [`sub_hippo_central_${s.name.replace('-', '_')}`],
        );
        assert.equal(slot?.wal_status, 'lost', `${s.name}: the slot kept for hippo-central is lost`);
      }
      const report = await status();
      const lost = report.pairs.filter((p) => p.problem?.startsWith('slot lost') === true);
      assert.deepEqual(
        lost.map((p) => [`${p.subscriber} <- ${p.publisher}`, p.fix?.split(' (')[0]]),
        [
          ['hippo-central <- hippo-east', '`pulumi up --refresh`'],
          ['hippo-central <- hippo-west', '`pulumi up --refresh`'],
        ],
      );
      assert.equal(report.healthy, false);
    } finally {
      await central.start();
    }
  });

  it('hippo-central back, `pulumi up --refresh` re-copies exactly those two pairs: the same rows everywhere, no slot left over', async function () {
    for (const s of [set.get('hippo-east'), set.get('hippo-west')]) await query(s, SEED_INSERT);
    const preview = await e.stack.preview({ refresh: true });
    assert.deepEqual(changes(preview.changeSummary), { replace: 2 });
    const up = await e.stack.up({ refresh: true });
    assert.deepEqual(changes(up.summary.resourceChanges), { replace: 2 });
    await converge(servers(), 125);
    for (const s of servers()) {
      const slots = await query<{ n: number }>(
        s,
        "SELECT count(*)::int AS n FROM pg_replication_slots WHERE slot_type = 'logical'",
      );
      assert.deepEqual(slots, [{ n: 2 }], `${s.name} serves its two subscribers, no more`);
    }
    await waitFor('status healthy', async () => (await status()).healthy, 30_000);
    assert.deepEqual(changes((await e.stack.preview()).changeSummary), {});
  });
  it('the repairs status prints, through the engine: a refused login and an unpublished partition are two updates of `pulumi up --refresh`', async function () {
    const [east, west] = [set.get('hippo-east'), set.get('hippo-west')];
    await query(west, 'ALTER ROLE federation_replicator NOLOGIN');
    await query(east, 'ALTER PUBLICATION pub_hippo_east DROP TABLE public.hippo_east');
    const broken = await status();
    assert.equal(broken.healthy, false);
    assert.deepEqual(
      broken.members.map((m) => [m.name, m.unpublished]),
      [
        ['hippo-east', ['public.hippo_east']],
        ['hippo-central', []],
        ['hippo-west', []],
      ],
    );
    const up = await e.stack.up({ refresh: true });
    assert.deepEqual(changes(up.summary.resourceChanges), { update: 2 });
    assert.match(up.stdout, /hippo-west-replication-role/);
    assert.match(up.stdout, /hippo-east-partition-hippos-hippo-east/);
    const [role] = await query<{ login: boolean }>(
      west,
      "SELECT rolcanlogin AS login FROM pg_roles WHERE rolname = 'federation_replicator'",
    );
    assert.equal(role?.login, true);
    await waitFor('status healthy', async () => (await status()).healthy, 30_000);
  });
});
