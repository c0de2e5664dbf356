/**
 * The Partition provider on a real server: idempotent create, clear conflicts, and deletes that
 * never lose rows unless asked.
 */
import { strict as assert } from 'node:assert';
import { parseFederationConfig } from '../../components/stackConfig';
import { adminConnection } from '../../components/endpoints';
import { memberPlan, plan } from '../../components/plan';
import { federatedTableProvider } from '../../components/providers/federatedTable';
import { type PartitionInputs, partitionProvider as provider } from '../../components/providers/partition';
import { postgresqlResources } from '../../scripts/embedded/postgresqlResources';
import { ServerSet, type TestServer, query, MAJOR } from '../../scripts/embedded/serverSet';
import { captureReports } from '../support/reports';
import { must } from '../support/must';

/** Writes as logical replication makes them (the ownership guards let these pass). */
const AS_REPLICATION = 'SET session_replication_role = replica;';

describe(`Partition provider on embedded PostgreSQL ${MAJOR}`, function () {
  let set: ServerSet;
  let east: TestServer;
  const cfg = () =>
    parseFederationConfig({
      members: [
        { name: 'hippo-east', kind: 'external', host: '127.0.0.1', port: east.port, sslmode: 'disable' },
        { name: 'hippo-west', kind: 'external', host: '127.0.0.1', port: east.port + 1, sslmode: 'disable' },
        { name: 'hippo-north', kind: 'external', host: '127.0.0.1', port: east.port + 2, sslmode: 'disable' },
      ],
    });

  function inputs(owner: string, onDelete: PartitionInputs['onDelete'] = 'detach'): PartitionInputs {
    const c = cfg();
    const mp = memberPlan(plan(c), 'hippo-east');
    const p = must([...mp.ownPartitions, ...mp.landings].find((x) => x.inputs.owner === owner));
    return {
      ...p.inputs,
      connection: adminConnection(must(c.members[0]), 'postgres', east.connection.password),
      onDelete,
    };
  }

  /** The federated table on east's server, rendered as if that server were `member`. */
  function tableInputs(member: string) {
    const t = must(memberPlan(plan(cfg()), member).tables[0]);
    return { ...t.inputs, connection: inputs('hippo-east').connection };
  }

  async function parentOf(table: string): Promise<string | null | undefined> {
    const rows = await query<{ parent: string | null }>(
      east,
      `SELECT (SELECT inhparent::regclass::text FROM pg_inherits WHERE inhrelid = c.oid) AS parent
         FROM pg_class c WHERE c.relname = $1`,
      [table],
    );
    return rows.length === 0 ? undefined : must(rows[0]).parent;
  }

  before(async function () {
    set = await ServerSet.start(['hippo-east']);
    east = set.get('hippo-east');
    await query(
      east,
      postgresqlResources.function(memberPlan(plan(cfg()), 'hippo-east').nodeNameFunction.inputs),
    );
    const table = tableInputs('hippo-east');
    await federatedTableProvider.create(table);
    await federatedTableProvider.update('x', table, table); // the table SQL is idempotent
  });
  after(async function () {
    await set?.stopAll();
  });

  it('the table refuses a server whose get_node_name() is not the configured member', async function () {
    await assert.rejects(
      federatedTableProvider.create(tableInputs('hippo-west')),
      /table public\.hippos on member "hippo-west": get_node_name\(\) returns hippo-east, but this server is configured as member hippo-west/,
    );
  });

  it('makes a new table with its declared checks; on a table that exists, a new check waits for the opt-in', async function () {
    const weighed = (checks: Array<{ name: string; expression: string }>) => {
      const c = parseFederationConfig({
        members: [
          { name: 'hippo-east', kind: 'external', host: '127.0.0.1', port: east.port, sslmode: 'disable' },
        ],
        tables: [
          {
            name: 'weighed',
            columns: [
              { name: 'id', type: 'bigint', notNull: true },
              { name: 'weight', type: 'integer' },
            ],
            primaryKey: ['id'],
            checks,
          },
        ],
      });
      const t = must(memberPlan(plan(c), 'hippo-east').tables[0]);
      return { ...t.inputs, connection: inputs('hippo-east').connection };
    };
    const checksOf = async () =>
      (
        await query<{ name: string }>(
          east,
          "SELECT conname AS name FROM pg_constraint WHERE conrelid = 'weighed'::regclass AND contype = 'c' ORDER BY 1",
        )
      ).map((r) => r.name);
    await federatedTableProvider.create(weighed([{ name: 'weight_positive', expression: 'weight > 0' }]));
    assert.deepEqual(await checksOf(), ['weight_positive']);
    await assert.rejects(
      federatedTableProvider.create(
        weighed([
          { name: 'weight_positive', expression: 'weight > 0' },
          { name: 'weight_small', expression: 'weight < 1000' },
        ]),
      ),
      /add check weight_small: weight < 1000 would remove what a member may still use or write; once no member does, set pg-federation:allowDestructiveChanges/,
    );
    assert.deepEqual(await checksOf(), ['weight_positive'], 'the existing table was left as it was');
  });

  it('routes a row inserted without node_name to the local partition by a constant default', async function () {
    const [col] = await query<{ dflt: string }>(
      east,
      `SELECT pg_get_expr(adbin, adrelid) AS dflt FROM pg_attrdef WHERE adrelid = 'hippos'::regclass AND adnum = 2`,
    );
    assert.equal(col?.dflt, "'hippo-east'::text");
  });

  it('creates a partition with its primary key, and a second create adopts it', async function () {
    await provider.create(inputs('hippo-west'));
    await provider.create(inputs('hippo-west'));
    assert.equal(await parentOf('hippo_west'), 'hippos');
    const [pk] = await query<{ n: string }>(
      east,
      `SELECT count(*) AS n FROM pg_index WHERE indrelid = 'hippo_west'::regclass AND indisprimary`,
    );
    assert.equal(pk?.n, '1');
    await query(
      east,
      `${AS_REPLICATION} INSERT INTO hippos (node_name, value) VALUES ('hippo-west', '{[2024-01-01,2024-01-05)}')`,
    );
    const [row] = await query<{ n: string }>(east, 'SELECT count(*) AS n FROM hippo_west');
    assert.equal(row?.n, '1');
  });

  it('a landing guarded BEFORE (made before 2026-12-07) gets the AFTER guard in place by update', async function () {
    const current = inputs('hippo-west');
    assert.match(current.guardSql, /AFTER INSERT OR UPDATE OR DELETE/);
    const earlier = { ...current, guardSql: current.guardSql.replace('AFTER INSERT', 'BEFORE INSERT') };
    await query(east, earlier.guardSql);
    const timing = async () =>
      (
        await query<{ before: boolean }>(
          east,
          `SELECT (tgtype & 2) <> 0 AS before FROM pg_trigger
            WHERE tgrelid = 'hippo_west'::regclass AND tgname = 'federation_guard'`,
        )
      ).map((r) => (r.before ? 'BEFORE' : 'AFTER'));
    assert.deepEqual(await timing(), ['BEFORE']);
    const diff = await provider.diff('id', earlier, current);
    assert.deepEqual([diff.changes, diff.replaces], [true, []]);
    await provider.update('id', earlier, current);
    assert.deepEqual(await timing(), ['AFTER']);
    await assert.rejects(
      query(east, `INSERT INTO hippo_west (id, node_name) VALUES (gen_random_uuid(), 'hippo-west')`),
      /rows of member hippo-west are written only on member hippo-west/,
    );
  });

  it('fails clearly when a different table of that name exists', async function () {
    await query(
      east,
      `CREATE TABLE hippo_north (id uuid PRIMARY KEY, node_name text, value datemultirange, created_at timestamptz)`,
    );
    await query(east, `ALTER TABLE hippos ATTACH PARTITION hippo_north FOR VALUES IN ('somebody-else')`);
    await assert.rejects(provider.create(inputs('hippo-north')), (err: Error) => {
      assert.match(
        err.message,
        /partition public\.hippo_north on member "hippo-east": public\.hippo_north already exists as the partition FOR VALUES IN \('somebody-else'\) of hippos, not as the partition of hippos FOR VALUES IN \('hippo-north'\)/,
      );
      return true;
    });
    await query(east, 'DROP TABLE hippo_north');
  });

  it('delete detaches a partition that holds rows and keeps it, saying so', async function () {
    const { reports } = await captureReports(() => provider.delete('id', inputs('hippo-west')));
    assert.equal(await parentOf('hippo_west'), null, 'detached, still there');
    const [row] = await query<{ n: string }>(east, 'SELECT count(*) AS n FROM hippo_west');
    assert.equal(row?.n, '1', 'its rows are kept');
    assert.ok(
      reports.some((r) =>
        /holds rows, so it was detached from hippos and kept as table public\.hippo_west/.test(r),
      ),
    );
  });

  it('a create after that attaches the kept table again, rows and all', async function () {
    const { reports } = await captureReports(() => provider.create(inputs('hippo-west')));
    assert.equal(await parentOf('hippo_west'), 'hippos');
    const [row] = await query<{ n: string }>(
      east,
      `SELECT count(*) AS n FROM hippos WHERE node_name = 'hippo-west'`,
    );
    assert.equal(row?.n, '1');
    assert.ok(reports.some((r) => r.includes('attached the existing table public.hippo_west')));
  });

  it('a kept table gets the columns its table gained while it was detached; one it has that the table lost stops the attach', async function () {
    await provider.delete('id', inputs('hippo-west'));
    // A change of shape made while hippo_west was detached (its member away, the stack destroyed).
    await query(east, `ALTER TABLE hippos ADD COLUMN herd text DEFAULT 'main' NOT NULL`);
    const { reports } = await captureReports(() => provider.create(inputs('hippo-west')));
    assert.equal(await parentOf('hippo_west'), 'hippos');
    assert.deepEqual(await query(east, 'SELECT herd FROM hippo_west'), [{ herd: 'main' }]);
    assert.ok(
      reports.some((r) => /the kept table gained herd, which hippos got while it was detached/.test(r)),
      reports.join('\n'),
    );

    await provider.delete('id', inputs('hippo-west'));
    await query(east, 'ALTER TABLE hippo_west ADD COLUMN stray integer');
    await assert.rejects(
      provider.create(inputs('hippo-west')),
      /the kept table public\.hippo_west \(from an earlier detach\) has column\(s\) stray that public\.hippos no longer has; drop them from it/,
    );
    assert.equal(await parentOf('hippo_west'), null, 'nothing changed');
    await query(east, 'ALTER TABLE hippo_west DROP COLUMN stray');
    await provider.create(inputs('hippo-west'));
    assert.equal(await parentOf('hippo_west'), 'hippos');
  });

  it('delete keeps a partition attached when told to keep', async function () {
    await provider.delete('id', inputs('hippo-west', 'keep'));
    assert.equal(await parentOf('hippo_west'), 'hippos');
  });

  it('delete drops rows only when told to drop, and always drops an empty partition', async function () {
    await provider.delete('id', inputs('hippo-west', 'drop'));
    assert.equal(await parentOf('hippo_west'), undefined);
    await provider.create(inputs('hippo-north'));
    await provider.delete('id', inputs('hippo-north', 'detach'));
    assert.equal(await parentOf('hippo_north'), undefined, 'nothing to keep');
  });

  it("refuses to create a partition while the default partition holds that member's rows", async function () {
    await query(
      east,
      `${AS_REPLICATION} INSERT INTO hippo_default (id, node_name) VALUES (gen_random_uuid(), 'hippo-north')`,
    );
    await assert.rejects(
      provider.create(inputs('hippo-north')),
      /partition public\.hippo_north on member "hippo-east": .*default partition "hippo_default" would be violated/,
    );
    await query(east, `${AS_REPLICATION} DELETE FROM hippo_default`);
  });

  it('an own partition dropped from its publication by hand: read says so, diff updates, update publishes it again', async function () {
    await query(east, 'CREATE PUBLICATION pub_hippo_east');
    try {
      const own = { ...inputs('hippo-east'), restoreFrom: [] };
      assert.equal(own.publication, 'pub_hippo_east');
      await provider.create(own);
      const published = async () =>
        (
          await query(
            east,
            `SELECT 1 FROM pg_publication_tables WHERE pubname = 'pub_hippo_east' AND tablename = 'hippo_east'`,
          )
        ).length === 1;
      assert.equal(await published(), true);
      const id = 'hippo-east/public.hippo_east';
      const clean = await provider.read(id, own);
      assert.deepEqual([clean.id, clean.props], [id, own]);
      assert.deepEqual(await provider.diff(id, must(clean.props), own), {
        changes: false,
        replaces: [],
        deleteBeforeReplace: true,
      });

      await query(east, 'ALTER PUBLICATION pub_hippo_east DROP TABLE public.hippo_east');
      const found = await provider.read(id, own);
      assert.deepEqual(found.props, { ...own, published: false });
      assert.deepEqual(await provider.diff(id, must(found.props), own), {
        changes: true,
        replaces: [],
        deleteBeforeReplace: true,
      });
      const { reports } = await captureReports(() => provider.update(id, must(found.props), own));
      assert.equal(await published(), true);
      assert.match(
        reports.join('\n'),
        /publication pub_hippo_east on member "hippo-east" now publishes public\.hippo_east/,
      );
      assert.match(
        reports.join('\n'),
        /rows written to public\.hippo_east while it was not published reached no peer: `npm run status` names the copies that differ/,
      );
      assert.deepEqual((await provider.read(id, own)).props, own);
    } finally {
      await query(east, 'DROP PUBLICATION IF EXISTS pub_hippo_east');
    }
  });

  it('creates the partitions of many members at once without deadlocking (as the engine does)', async function () {
    const owners = ['hippo-west', 'hippo-north', 'hippo-east'];
    await Promise.all(owners.map((o) => provider.create(inputs(o))));
    for (const o of owners) assert.equal(await parentOf(o.replace('-', '_')), 'hippos');
  });
});
