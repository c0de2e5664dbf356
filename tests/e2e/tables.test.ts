/**
 * Several federated tables through the real engine on four members: the seed's `hippos` and
 * `orders`, whose primary key is composite; a third table added by config (only creates, its
 * landing partitions joining the running subscriptions); a table removed by config (its rows kept
 * as a member's are).
 */
import { strict as assert } from 'node:assert';
import { SEED_TABLE } from '../../components/config/tables';
import { SEED_INSERT, converge, externalMember } from '../support/convergence';
import { ServerSet, query } from '../../scripts/embedded/serverSet';
import { TEST_PASSWORD } from '../support/secrets';
import { EngineStack, changes, requireEngine } from '../support/engine';

const MEMBERS = ['hippo-east', 'hippo-central', 'hippo-west', 'hippo-south'];

const ORDERS = {
  name: 'orders',
  columns: [
    { name: 'region', type: 'text', notNull: true },
    { name: 'order_id', type: 'bigint', notNull: true },
    { name: 'amount', type: 'numeric(10,2)', notNull: true, default: 0 },
    { name: 'placed_at', type: 'timestamp with time zone', defaultExpression: 'now()' },
  ],
  primaryKey: ['region', 'order_id'],
};
const EVENTS = {
  name: 'events',
  columns: [
    { name: 'id', type: 'uuid', notNull: true, defaultExpression: 'gen_random_uuid()' },
    { name: 'kind', type: 'text' },
    { name: 'tags', type: 'text[]' },
  ],
  primaryKey: ['id'],
  ownerColumn: 'origin',
};

describe('several federated tables through the real engine', function () {
  this.timeout(15 * 60_000);
  let set: ServerSet;
  let e: EngineStack;
  const servers = () => MEMBERS.map((n) => set.get(n));
  const config = (tables: unknown[]) => ({
    'pg-federation:members': servers().map((s) => externalMember(s)),
    'pg-federation:tables': tables,
  });
  const hippos = { ...SEED_TABLE };

  before(async function () {
    requireEngine(this);
    set = await ServerSet.start(MEMBERS);
    e = await EngineStack.create('tables', config([hippos, ORDERS]));
    for (const n of MEMBERS) await e.setSecret(`passwords["${n}"]`, TEST_PASSWORD);
  });
  after(async function () {
    await e?.stack.destroy().catch(() => undefined);
    await e?.remove();
    await set?.stopAll();
  });

  it("hippos and orders (composite key) on four members: the seed's counts on both", async function () {
    const up = await e.stack.up();
    assert.equal(up.summary.result, 'succeeded');
    for (const [i, s] of servers().entries()) {
      await query(s, SEED_INSERT);
      await query(
        s,
        `INSERT INTO orders (region, order_id, amount) SELECT 'eu', n, n * 1.5 FROM generate_series(${i * 100 + 1}, ${i * 100 + 25}) n`,
      );
    }
    await converge(servers(), 100, { table: 'hippos', order: 'id' });
    await converge(servers(), 100, { table: 'orders', order: 'region, order_id' });
    const perOwner = await query(
      set.get('hippo-west'),
      'SELECT node_name, count(*)::int AS n FROM orders GROUP BY 1 ORDER BY 1',
    );
    assert.deepEqual(
      perOwner,
      MEMBERS.slice()
        .sort()
        .map((m) => ({ node_name: m, n: 25 })),
    );
    // One publication per member covers its partitions of every table.
    const published = await query<{ tablename: string }>(
      set.get('hippo-east'),
      `SELECT tablename FROM pg_publication_tables WHERE pubname = 'pub_hippo_east' ORDER BY 1`,
    );
    assert.deepEqual(
      published.map((r) => r.tablename),
      ['hippo_east', 'orders_hippo_east'],
    );
  });

  it('a third table by config: preview shows only creates; its rows reach every member', async function () {
    await e.setConfig(config([hippos, ORDERS, EVENTS]));
    const preview = await e.stack.preview();
    // Per member: the table, its 4 partitions, the replication role's grant on its own.
    assert.deepEqual(changes(preview.changeSummary), { create: 4 * 6 });
    const up = await e.stack.up();
    assert.deepEqual(changes(up.summary.resourceChanges), { create: 24 });
    for (const s of servers())
      await query(
        s,
        `INSERT INTO events (kind, tags) SELECT 'tick', ARRAY['a', 'b'] FROM generate_series(1, 10)`,
      );
    await converge(servers(), 40, { table: 'events', order: 'id' });
    assert.deepEqual(changes((await e.stack.preview()).changeSummary), {});
  });

  it('a table removed by config keeps its rows, as a removed member does, and the others keep replicating', async function () {
    await e.setConfig(config([hippos, EVENTS]));
    const preview = await e.stack.preview();
    // Per member: orders' table, its 4 partitions and the replication role's grant.
    assert.deepEqual(changes(preview.changeSummary), { delete: 4 * 6 });
    const up = await e.stack.up();
    assert.equal(up.summary.result, 'succeeded');
    assert.deepEqual(changes(up.summary.resourceChanges), { delete: 24 });
    for (const s of servers()) {
      const kept = await query<{ n: number }>(
        s,
        `SELECT (SELECT count(*) FROM orders_hippo_east) + (SELECT count(*) FROM orders_hippo_central) +
                (SELECT count(*) FROM orders_hippo_west) + (SELECT count(*) FROM orders_hippo_south) AS n`,
      );
      assert.equal(Number(kept[0]?.n), 100, `${s.name} keeps every order`);
      // No longer federated: each partition detached and kept as a plain table, none published.
      const attached = await query<{ n: number }>(
        s,
        `SELECT count(*)::int AS n FROM pg_inherits WHERE inhrelid::regclass::text LIKE 'orders_hippo_%'`,
      );
      assert.deepEqual(attached, [{ n: 0 }], `${s.name}: every orders partition detached`);
      const published = await query<{ tablename: string }>(
        s,
        `SELECT tablename FROM pg_publication_tables WHERE tablename LIKE 'orders%'`,
      );
      assert.deepEqual(published, [], `${s.name} publishes no orders partition`);
    }
    await query(set.get('hippo-south'), SEED_INSERT);
    await converge(servers(), 125, { table: 'hippos', order: 'id' });
  });
});
