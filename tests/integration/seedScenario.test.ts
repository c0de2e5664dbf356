/**
 * The seed's whole scenario on real PostgreSQL servers: three members, 25 rows each, 75 rows on
 * every member; hippo-south joins as the program adds it; 100 rows everywhere, identical row sets.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ServerSet, type TestServer, query, waitFor, MAJOR } from '../../scripts/embedded/serverSet';
import { FederationDriver, configFor } from '../support/federationDriver';

const FIXTURES = path.join(__dirname, '..', '..', 'sql', 'seed');
const SEED_INSERT = readFileSync(path.join(FIXTURES, 'insert.sql'), 'utf8');
const SEED_VERIFY = readFileSync(path.join(FIXTURES, 'verify.sql'), 'utf8');

async function counts(server: TestServer): Promise<Record<string, number>> {
  const rows = await query<{ node_name: string; count: string }>(server, SEED_VERIFY);
  return Object.fromEntries(rows.map((r) => [r.node_name, Number(r.count)]));
}

/** Every row's id, owner, value and timestamp, in id order: what "identical" means. */
async function rowSet(server: TestServer): Promise<string> {
  const rows = await query<{ rows: string | null }>(
    server,
    `SELECT string_agg(id || '|' || node_name || '|' || value::text || '|' || created_at::text, E'\\n' ORDER BY id) AS rows FROM hippos`,
  );
  return rows[0]?.rows ?? '';
}

async function waitForCounts(servers: TestServer[], expected: Record<string, number>): Promise<void> {
  await waitFor(
    `every member to show ${JSON.stringify(expected)}`,
    async () => {
      for (const s of servers) assert.ok(s.running);
      const all = await Promise.all(servers.map(counts));
      return all.every((c) => JSON.stringify(sorted(c)) === JSON.stringify(sorted(expected)));
    },
    30_000,
    async () =>
      JSON.stringify(
        Object.fromEntries(await Promise.all(servers.map(async (s) => [s.name, await counts(s)]))),
      ),
  );
}

function sorted(record: Record<string, number>): Array<[string, number]> {
  return Object.entries(record).sort(([a], [b]) => a.localeCompare(b));
}

describe(`the seed scenario on embedded PostgreSQL ${MAJOR}`, function () {
  let set: ServerSet;
  let driver: FederationDriver;
  const names = ['hippo-east', 'hippo-central', 'hippo-west'];

  before(async function () {
    set = await ServerSet.start([...names, 'hippo-south']);
    driver = new FederationDriver(set);
  });
  after(async function () {
    await set?.stopAll();
  });

  it('three members: 25 rows inserted on each, 75 on every member, 25 per node_name', async function () {
    const three = names.map((n) => set.get(n));
    await driver.up(configFor(three));

    for (const server of three) {
      const [fn] = await query<{ name: string }>(server, 'SELECT get_node_name() AS name');
      assert.equal(fn?.name, server.name, 'get_node_name() returns the member name');
      await query(server, SEED_INSERT);
    }
    await waitForCounts(three, { 'hippo-east': 25, 'hippo-central': 25, 'hippo-west': 25 });
    // Rows inserted without node_name were routed into the local member's partition, not the default.
    const [east] = await query<{ own: string; dflt: string }>(
      set.get('hippo-east'),
      'SELECT (SELECT count(*) FROM hippo_east) AS own, (SELECT count(*) FROM hippo_default) AS dflt',
    );
    assert.deepEqual(east, { own: '25', dflt: '0' });
  });

  it('hippo-south joins with one config edit: 4 × 25 = 100 rows, identical on all four', async function () {
    const four = [...names, 'hippo-south'].map((n) => set.get(n));
    const before = { partitions: driver.partitions.size, subscriptions: driver.subscriptions.size };
    await driver.up(configFor(four));
    assert.deepEqual(
      {
        partitions: driver.partitions.size - before.partitions,
        subscriptions: driver.subscriptions.size - before.subscriptions,
      },
      { partitions: 7, subscriptions: 6 },
      'adding the 4th member adds 16 - 9 partitions and 12 - 6 subscriptions',
    );
    // Before south writes, it already has the 75 rows of the others (initial sync done when up returns).
    assert.deepEqual(await counts(set.get('hippo-south')), {
      'hippo-east': 25,
      'hippo-central': 25,
      'hippo-west': 25,
    });

    await query(set.get('hippo-south'), SEED_INSERT);
    await waitForCounts(four, { 'hippo-east': 25, 'hippo-central': 25, 'hippo-west': 25, 'hippo-south': 25 });

    const sets = await Promise.all(four.map(rowSet));
    assert.equal(sets[0]?.split('\n').length, 100);
    for (const [i, s] of sets.entries())
      assert.equal(s, sets[0], `${four[i]?.name} has the same 100 rows as hippo-east`);
  });

  it("updates and deletes made by a row's owner reach every member", async function () {
    const four = [...names, 'hippo-south'].map((n) => set.get(n));
    const west = set.get('hippo-west');
    await query(west, `UPDATE hippos SET value = '{[2030-01-01,2030-02-01)}' WHERE node_name = 'hippo-west'`);
    await query(
      west,
      `DELETE FROM hippos WHERE id IN (SELECT id FROM hippos WHERE node_name = 'hippo-west' ORDER BY id LIMIT 5)`,
    );
    await waitForCounts(four, { 'hippo-east': 25, 'hippo-central': 25, 'hippo-west': 20, 'hippo-south': 25 });
    await waitFor('the update to reach every member', async () => {
      const updated = await Promise.all(
        four.map((s) =>
          query<{ n: string }>(
            s,
            `SELECT count(*) AS n FROM hippos WHERE node_name = 'hippo-west' AND value = '{[2030-01-01,2030-02-01)}'`,
          ),
        ),
      );
      return updated.every((rows) => rows[0]?.n === '20');
    });
    const sets = await Promise.all(four.map(rowSet));
    for (const s of sets) assert.equal(s, sets[0]);
  });
});
