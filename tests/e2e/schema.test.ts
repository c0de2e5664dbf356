/**
 * A federated table's shape changed by config edits, through the real engine, on four live members
 * with writes flowing on all of them during each change: columns added (preview shows the steps as
 * in-place updates), an index built concurrently, a column dropped only with the opt-in, a type change
 * refused with its reason, a member unreachable stopping the change everywhere, and a hand-made
 * drift reported by status and repaired by `pulumi up --refresh`.
 */
import { strict as assert } from 'node:assert';
import { SEED_TABLE, type TableSpec } from '../../components/config/tables';
import { collect } from '../../scripts/status/collect';
import { externalMember } from '../support/convergence';
import { MAJOR, ServerSet, type TestServer, query, waitFor } from '../../scripts/embedded/serverSet';
import { TEST_PASSWORD } from '../support/secrets';
import { EngineStack, changes, requireEngine } from '../support/engine';

const NAMES = ['hippo-east', 'hippo-central', 'hippo-west', 'hippo-south'];

/** Rows written on every member, one every 40 ms each, until stopped: the writes that keep flowing. */
function writers(servers: TestServer[]): { stop: () => Promise<number> } {
  let running = true;
  let written = 0;
  const loops = servers.map(async (s) => {
    while (running) {
      await query(s, `INSERT INTO hippos (value, created_at) VALUES (NULL, clock_timestamp())`);
      written++;
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return written;
    },
  };
}

describe("a table's shape changed by config, with writes flowing on four members, through the real engine", function () {
  this.timeout(15 * 60_000);
  let set: ServerSet;
  let e: EngineStack;
  const servers = () => NAMES.map((n) => set.get(n));
  let hippos: TableSpec = { ...SEED_TABLE };
  let allowDestructiveChanges = false;
  const config = () => ({
    'pg-federation:syncTimeoutSeconds': 120,
    'pg-federation:allowDestructiveChanges': allowDestructiveChanges,
    'pg-federation:tables': [hippos],
    'pg-federation:members': servers().map((s) => externalMember(s)),
  });
  const columnsOf = async (s: TestServer) =>
    (
      await query<{ c: string }>(
        s,
        `SELECT attname AS c FROM pg_attribute WHERE attrelid = 'hippos'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      )
    ).map((r) => r.c);
  async function converge(): Promise<string> {
    const count = async (s: TestServer) =>
      Number((await query<{ n: string }>(s, 'SELECT count(*) AS n FROM hippos'))[0]?.n);
    await waitFor(
      'every member holds the same rows',
      async () => new Set(await Promise.all(servers().map(count))).size === 1,
      60_000,
    );
    const all = await Promise.all(
      servers().map(async (s) => JSON.stringify(await query(s, 'SELECT * FROM hippos ORDER BY id'))),
    );
    for (const [i, text] of all.entries()) assert.equal(text, all[0], `${NAMES[i]} holds the same rows`);
    return all[0] ?? '';
  }

  before(async function () {
    requireEngine(this);
    set = await ServerSet.start(NAMES);
    e = await EngineStack.create('schema', config());
    for (const n of NAMES) await e.setSecret(`passwords["${n}"]`, TEST_PASSWORD);
    await e.stack.up();
  });
  after(async function () {
    await e?.stack.destroy().catch(() => undefined);
    await e?.remove();
    await set?.stopAll();
  });

  it('adds columns: the preview shows an in-place update per member with its steps; rows using them converge', async function () {
    hippos = {
      ...hippos,
      columns: [
        ...hippos.columns,
        { name: 'weight', type: 'numeric(8,2)', notNull: false },
        { name: 'note', type: 'text', notNull: false },
        { name: 'herd', type: 'text', notNull: true, default: 'main' },
      ],
    };
    await e.setConfig(config());
    const preview = await e.stack.preview({ diff: true });
    assert.deepEqual(changes(preview.changeSummary), { update: 4 });
    assert.match(preview.stdout, /add column weight numeric\(8,2\)/);
    assert.match(preview.stdout, /add column herd text DEFAULT 'main' NOT NULL/);
    assert.doesNotMatch(preview.stdout, new RegExp(TEST_PASSWORD));
    const w = writers(servers());
    const up = await e.stack.up();
    const written = await w.stop();
    assert.deepEqual(changes(up.summary.resourceChanges), { update: 4 });
    assert.ok(written > 20, `${written} rows were written during the change`);
    for (const s of servers())
      assert.deepEqual((await columnsOf(s)).slice(-3), ['weight', 'note', 'herd'], s.name);
    for (const [i, s] of servers().entries()) {
      await query(
        s,
        `INSERT INTO hippos (created_at, weight, note) SELECT clock_timestamp(), n * ${i + 1}.5, 'heavy' FROM generate_series(1, 10) n`,
      );
    }
    const rows = await converge();
    assert.equal((rows.match(/"note":"heavy"/g) ?? []).length, 40);
    assert.equal(
      (rows.match(/"herd":"main"/g) ?? []).length,
      JSON.parse(rows).length,
      'the default filled every row, old and new',
    );
  });

  it('adds an index, built concurrently on every partition while writes flow', async function () {
    hippos = { ...hippos, indexes: [{ name: 'hippos_weight_idx', columns: ['weight'], unique: false }] };
    await e.setConfig(config());
    const w = writers(servers());
    const up = await e.stack.up();
    const written = await w.stop(); // a writer that failed fails here
    assert.deepEqual(changes(up.summary.resourceChanges), { update: 4 });
    assert.ok(written > 20, `${written} rows were written while the index was built`);
    for (const s of servers()) {
      const indexes = await query<{ n: number; valid: boolean }>(
        s,
        `SELECT count(*)::int AS n, bool_and(i.indisvalid) AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
          WHERE c.relname LIKE '%weight%' AND i.indrelid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'hippos'::regclass)`,
      );
      assert.deepEqual(indexes, [{ n: 5, valid: true }], `${s.name}: an index on each of its 5 partitions`);
    }
    await converge();
  });

  it('refuses a type change, naming the reason and the way', async function () {
    const declared = hippos;
    hippos = {
      ...hippos,
      columns: hippos.columns.map((c) => (c.name === 'weight' ? { ...c, type: 'text' } : c)),
    };
    await e.setConfig(config());
    await assert.rejects(
      e.stack.preview(),
      /change the type of weight from numeric\(8,2\) to text is refused: replication applies rows typed as their owner wrote them/,
    );
    hippos = declared;
  });

  it('drops a column only with allowDestructiveChanges, and then never breaks a subscription (refused on 14)', async function () {
    const declared = hippos;
    hippos = { ...hippos, columns: hippos.columns.filter((c) => c.name !== 'note') };
    await e.setConfig(config());
    await assert.rejects(
      e.stack.preview(),
      /drop column note would remove what a member may still use or write; once no member does, set pg-federation:allowDestructiveChanges to true/,
    );
    allowDestructiveChanges = true;
    await e.setConfig(config());
    if (MAJOR < 15) {
      // PostgreSQL 14 cannot stop sending a column (no column lists): the drop is refused, not done.
      await assert.rejects(
        e.stack.up(),
        /dropping note is refused: .* run PostgreSQL 14, whose publications cannot stop sending a column/,
      );
      for (const s of servers()) assert.ok((await columnsOf(s)).includes('note'), `${s.name} keeps note`);
      hippos = declared;
      allowDestructiveChanges = false;
      await e.setConfig(config());
      assert.deepEqual(changes((await e.stack.preview()).changeSummary), {});
      return;
    }
    const w = writers(servers());
    const up = await e.stack.up();
    await w.stop();
    assert.deepEqual(changes(up.summary.resourceChanges), { update: 4 });
    for (const s of servers())
      assert.ok(!(await columnsOf(s)).includes('note'), `${s.name} has no column note`);
    await converge();
    for (const s of servers()) {
      const lists = await query<{ n: number }>(
        s,
        `SELECT count(*)::int AS n FROM pg_publication_rel WHERE prattrs IS NOT NULL`,
      );
      assert.deepEqual(lists, [{ n: 0 }], `${s.name}: its publication sends every column again`);
    }
    allowDestructiveChanges = false;
    await e.setConfig(config());
    assert.deepEqual(changes((await e.stack.preview()).changeSummary), {});
  });

  it('changes nothing anywhere when a member cannot be reached', async function () {
    const south = set.get('hippo-south');
    await south.stop();
    try {
      hippos = {
        ...hippos,
        columns: [...hippos.columns, { name: 'extra', type: 'integer', notNull: false }],
      };
      await e.setConfig(config());
      await assert.rejects(
        e.stack.up(),
        /member\(s\) "hippo-south" cannot be reached; a table's shape changes on every member together, so nothing was changed here/,
      );
      for (const s of servers().slice(0, 3))
        assert.ok(!(await columnsOf(s)).includes('extra'), `${s.name} was not changed`);
    } finally {
      await south.start();
    }
    await e.stack.up();
    for (const s of servers()) assert.ok((await columnsOf(s)).includes('extra'), s.name);
    await converge();
  });

  it('a hand-made drift is reported by status, and pulumi up --refresh repairs it', async function () {
    const east = set.get('hippo-east');
    await query(east, 'DROP INDEX hippos_weight_idx');
    await query(east, `ALTER TABLE hippos ALTER COLUMN herd SET DEFAULT 'stray'`);
    const tables = [{ schema: 'public', name: 'hippos', spec: hippos }];
    const report = await collect(
      servers().map((s) => ({ name: s.name, connection: s.connection })),
      { tables, maxLagBytes: 1 << 24 },
    );
    const drift = report.members.find((m) => m.name === 'hippo-east')?.drift ?? [];
    assert.equal(drift.length, 1, JSON.stringify(report.members));
    assert.match(
      drift[0] ?? '',
      /public\.hippos: up would set the default of herd to 'main'::text; create index hippos_weight_idx on \(weight\)/,
    );
    assert.equal(report.healthy, false);
    assert.deepEqual(
      report.members.filter((m) => m.drift.length > 0).map((m) => m.name),
      ['hippo-east'],
      'the others are fine',
    );
    const up = await e.stack.up({ refresh: true });
    assert.deepEqual(changes(up.summary.resourceChanges), { update: 1 });
    const after = await collect(
      servers().map((s) => ({ name: s.name, connection: s.connection })),
      { tables, maxLagBytes: 1 << 24 },
    );
    assert.deepEqual(
      after.members.map((m) => m.drift),
      [[], [], [], []],
    );
  });
});
