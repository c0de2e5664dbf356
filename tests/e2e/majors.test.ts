/**
 * Mixed PostgreSQL majors in one federation, through the real engine: hippo-east on 14,
 * hippo-central on 16, hippo-west on 18, then hippo-south on 17. The seed's rows converge,
 * identical, and each subscription uses what both of its ends offer.
 */
import { strict as assert } from 'node:assert';
import { SEED_INSERT } from '../support/convergence';
import { ServerSet, type TestServer, query, waitFor } from '../../scripts/embedded/serverSet';
import { TEST_PASSWORD } from '../support/secrets';
import { EngineStack, changes, requireEngine } from '../support/engine';

const MAJORS: Record<string, number> = {
  'hippo-east': 14,
  'hippo-central': 16,
  'hippo-west': 18,
  'hippo-south': 17,
};

describe('PostgreSQL 14, 16, 18 and then 17 in one federation, through the real engine', function () {
  this.timeout(10 * 60_000);
  let set: ServerSet;
  let e: EngineStack;
  const names = Object.keys(MAJORS);
  const servers = (list: string[]) => list.map((n) => set.get(n));
  const config = (list: string[]) => ({
    'pg-federation:members': servers(list).map((s) => ({
      name: s.name,
      kind: 'external',
      host: '127.0.0.1',
      port: s.port,
      sslmode: 'disable',
    })),
  });
  const rows = async (s: TestServer) =>
    JSON.stringify(await query(s, 'SELECT id, node_name, value::text FROM hippos ORDER BY id'));
  async function converge(list: string[], n: number): Promise<void> {
    const count = async (s: TestServer) =>
      Number((await query<{ n: string }>(s, 'SELECT count(*) AS n FROM hippos'))[0]?.n);
    await waitFor(`${n} rows`, async () =>
      (await Promise.all(servers(list).map(count))).every((c) => c === n),
    );
    const all = await Promise.all(servers(list).map(rows));
    for (const text of all) assert.equal(text, all[0]);
  }

  before(async function () {
    requireEngine(this);
    set = await ServerSet.start([]);
    for (const [name, major] of Object.entries(MAJORS)) await set.add(name, { major });
    e = await EngineStack.create('majors', config(names.slice(0, 3)));
    for (const n of names) await e.setSecret(`passwords["${n}"]`, TEST_PASSWORD);
  });
  after(async function () {
    await e?.stack.destroy().catch(() => undefined);
    await e?.remove();
    await set?.stopAll();
  });

  it('runs the majors it was given', async function () {
    for (const [name, major] of Object.entries(MAJORS)) {
      const [row] = await query<{ v: number }>(
        set.get(name),
        "SELECT current_setting('server_version_num')::int / 10000 AS v",
      );
      assert.equal(row?.v, major, name);
    }
  });

  it('75 identical rows on 14, 16 and 18; hippo-south on 17 joins by config (creates only) and all hold 100', async function () {
    await e.stack.up();
    for (const s of servers(names.slice(0, 3))) await query(s, SEED_INSERT);
    await converge(names.slice(0, 3), 75);
    await e.setConfig(config(names));
    assert.deepEqual(changes((await e.stack.preview()).changeSummary), { create: 23 });
    await e.stack.up();
    await query(set.get('hippo-south'), SEED_INSERT);
    await converge(names, 100);
  });

  it('each subscription streams as both ends allow: origin = none and parallel apply only between 16+ servers', async function () {
    const expected: Array<[string, string, string]> = [];
    const seen: Array<[string, string, string]> = [];
    for (const sub of names) {
      for (const pub of names.filter((p) => p !== sub)) {
        const both = Math.min(MAJORS[sub] ?? 0, MAJORS[pub] ?? 0);
        expected.push([
          `${sub} <- ${pub}`,
          both >= 16 ? 'p' : MAJORS[sub] === 14 ? 'true' : 't',
          both >= 16 ? 'none' : 'any',
        ]);
      }
      const rowsOf = await query<{ subname: string; stream: string; origin: string }>(
        set.get(sub),
        `SELECT subname, substream::text AS stream, ${(MAJORS[sub] ?? 0) >= 16 ? 'suborigin' : "'any'"} AS origin FROM pg_subscription ORDER BY subname`,
      );
      for (const r of rowsOf) {
        const pub =
          names.find((p) => r.subname === `sub_${sub.replace('-', '_')}_${p.replace('-', '_')}`) ?? r.subname;
        seen.push([`${sub} <- ${pub}`, r.stream, r.origin]);
      }
    }
    assert.deepEqual(seen.sort(), expected.sort());
  });
});
