/**
 * A member's own partition restored from a peer's copy, when the create that restores it was cut
 * short before: its temporary subscription left on the member, its temporary publication and slot on
 * the peer (a `pulumi up` killed mid-restore), or the partition made but still empty (killed between
 * the two). The next create cleans what was left and restores, on two real servers.
 */
import { strict as assert } from 'node:assert';
import { adminConnection } from '../../components/endpoints';
import { memberPlan, plan } from '../../components/plan';
import { federatedTableProvider } from '../../components/providers/federatedTable';
import { type PartitionInputs, partitionProvider } from '../../components/providers/partition';
import { restoreName } from '../../components/providers/replication';
import { parseFederationConfig } from '../../components/stackConfig';
import { postgresqlResources } from '../../scripts/embedded/postgresqlResources';
import { SERVER_PASSWORD, ServerSet, type TestServer, query } from '../../scripts/embedded/serverSet';
import { must } from '../support/must';
import { captureReports } from '../support/reports';

const ROWS = 12;

describe('a restore cut short, then run again (embedded PostgreSQL)', function () {
  let set: ServerSet;
  let east: TestServer;
  let west: TestServer;
  const cfg = () =>
    parseFederationConfig({
      members: [east, west].map((s) => ({
        name: s.name,
        kind: 'external',
        host: '127.0.0.1',
        port: s.port,
        sslmode: 'disable',
      })),
    });
  const connection = (s: TestServer) =>
    adminConnection(must(cfg().members.find((m) => m.name === s.name)), 'postgres', SERVER_PASSWORD);
  const partition = (holder: TestServer, owner: string): PartitionInputs => {
    const mp = memberPlan(plan(cfg()), holder.name);
    const p = must([...mp.ownPartitions, ...mp.landings].find((x) => x.inputs.owner === owner));
    return { ...p.inputs, connection: connection(holder) };
  };
  /** hippo-east's own partition, restored from hippo-west's copy (a superuser's conninfo here). */
  const ownEast = (): PartitionInputs => ({
    ...partition(east, 'hippo-east'),
    replicationUser: 'postgres',
    restoreFrom: [
      {
        member: 'hippo-west',
        connection: connection(west),
        conninfo: `host=127.0.0.1 port=${west.port} user=postgres password=${SERVER_PASSWORD} dbname=postgres`,
      },
    ],
  });
  const temp = restoreName({ member: 'hippo-east', schema: 'public', partition: 'hippo_east' });
  const leftovers = async () => ({
    east: await query(east, 'SELECT subname FROM pg_subscription WHERE subname = $1', [temp]),
    west: [
      ...(await query(west, 'SELECT pubname FROM pg_publication WHERE pubname = $1', [temp])),
      ...(await query(west, 'SELECT slot_name FROM pg_replication_slots WHERE slot_name = $1', [temp])),
    ],
  });
  const count = async (s: TestServer) =>
    Number(must((await query<{ n: string }>(s, 'SELECT count(*) AS n FROM hippo_east'))[0]).n);

  async function prepare(s: TestServer): Promise<void> {
    const mp = memberPlan(plan(cfg()), s.name);
    await query(s, postgresqlResources.function(mp.nodeNameFunction.inputs));
    await federatedTableProvider.create({ ...must(mp.tables[0]).inputs, connection: connection(s) });
  }

  before(async function () {
    set = await ServerSet.start(['hippo-east', 'hippo-west']);
    east = set.get('hippo-east');
    west = set.get('hippo-west');
    for (const s of [east, west]) await prepare(s);
    // hippo-west's copy of hippo-east's rows; hippo-east lost its own (a new, empty server).
    await partitionProvider.create({ ...partition(west, 'hippo-east'), subscription: '' });
    await query(
      west,
      `SET session_replication_role = replica; INSERT INTO hippos (node_name, created_at) SELECT 'hippo-east', now() FROM generate_series(1, ${ROWS})`,
    );
    await query(east, 'CREATE PUBLICATION pub_hippo_east');
  });
  after(async function () {
    await set?.stopAll();
  });

  it("cleans an interrupted restore's temporary subscription, publication and slot, then restores", async function () {
    // What a restore killed after its CREATE SUBSCRIPTION leaves (connect = false: no copy ran).
    await query(west, `CREATE PUBLICATION ${temp} FOR TABLE hippo_east`);
    await query(west, `SELECT pg_create_logical_replication_slot('${temp}', 'pgoutput')`);
    await query(
      east,
      `CREATE SUBSCRIPTION ${temp} CONNECTION 'host=127.0.0.1 port=${west.port} dbname=postgres' PUBLICATION ${temp} WITH (connect = false, slot_name = '${temp}', enabled = false)`,
    );
    const { reports } = await captureReports(() => partitionProvider.create(ownEast()));
    const text = reports.join('\n');
    assert.match(text, /dropped the temporary subscription an interrupted restore left/);
    assert.match(text, /dropped what an interrupted restore left on "hippo-west"/);
    assert.match(
      text,
      new RegExp(
        `restored ${ROWS} rows of public\\.hippo_east on "hippo-east" from the copy on "hippo-west"`,
      ),
    );
    assert.equal(await count(east), ROWS);
    assert.deepEqual(await leftovers(), { east: [], west: [] });
  });

  it('a partition made but left empty by a create cut short before its restore is restored by the next create', async function () {
    await query(east, 'SET session_replication_role = replica; DELETE FROM hippo_east');
    assert.equal(await count(east), 0);
    const { reports } = await captureReports(() => partitionProvider.create(ownEast()));
    assert.match(reports.join('\n'), new RegExp(`restored ${ROWS} rows of public\\.hippo_east`));
    assert.equal(await count(east), ROWS);
    assert.deepEqual(await leftovers(), { east: [], west: [] });
  });

  it("an own partition that holds rows is never restored over; an interrupted restore's leftovers still go", async function () {
    await query(west, `CREATE PUBLICATION ${temp} FOR TABLE hippo_east`);
    await query(west, `SELECT pg_create_logical_replication_slot('${temp}', 'pgoutput')`);
    const { reports } = await captureReports(() => partitionProvider.create(ownEast()));
    assert.doesNotMatch(reports.join('\n'), /restored/);
    assert.match(reports.join('\n'), /dropped what an interrupted restore left on "hippo-west"/);
    assert.equal(await count(east), ROWS);
    assert.deepEqual(await leftovers(), { east: [], west: [] });
  });
});
