/**
 * The federation's whole life through the real Pulumi engine (Automation API, file backend,
 * passphrase secrets) on embedded servers as external members, asserted with the engine's own
 * change summaries: up with the seed's three members, no drift, hippo-south by a config edit, an
 * admin password changed, hippo-south removed, destroy. The replication role is checked as the
 * program's own postgresql.Role and Grants made it.
 */
import { strict as assert } from 'node:assert';
import { Client } from 'pg';
import { clientConfig } from '../../components/providers/connection';
import { ServerSet, query } from '../../scripts/embedded/serverSet';
import { GENERATED_SECRETS, TEST_PASSWORD } from '../support/secrets';
import { SEED_INSERT, converge, countRows, externalMember } from '../support/convergence';
import { EngineStack, changes, requireEngine } from '../support/engine';

const SEED = ['hippo-east', 'hippo-central', 'hippo-west'];

describe('the federation through the real Pulumi engine', function () {
  this.timeout(15 * 60_000);
  let set: ServerSet;
  let e: EngineStack;
  const servers = (names: string[]) => names.map((n) => set.get(n));
  const membersConfig = (names: string[]) => ({
    'pg-federation:members': servers(names).map((s) => externalMember(s)),
    'pg-federation:syncTimeoutSeconds': 120,
  });

  before(async function () {
    requireEngine(this);
    set = await ServerSet.start([...SEED, 'hippo-south']);
    e = await EngineStack.create('lifecycle', membersConfig(SEED));
    for (const name of [...SEED, 'hippo-south']) await e.setSecret(`passwords["${name}"]`, TEST_PASSWORD);
  });
  after(async function () {
    await e?.remove();
    await set?.stopAll();
  });

  it('up with three members creates 47 resources; the seed INSERT on each gives 75 identical rows everywhere', async function () {
    const up = await e.stack.up();
    assert.equal(up.summary.result, 'succeeded');
    assert.deepEqual(changes(up.summary.resourceChanges), { create: 47 });
    for (const s of servers(SEED)) await query(s, SEED_INSERT);
    await converge(servers(SEED), 75);
  });

  // The replication role, as the program's own postgresql.Role and Grants made it.
  let replicatorPassword = '';
  /** A query on hippo-west as the role its peers' subscriptions log in as. */
  const asReplicator = async (sql: string): Promise<unknown[]> => {
    replicatorPassword ||= await e.generatedPassword('hippo-west-replication-password');
    const client = new Client(
      clientConfig({
        ...set.get('hippo-west').connection,
        user: 'federation_replicator',
        password: replicatorPassword,
      }),
    );
    await client.connect();
    try {
      return (await client.query(sql)).rows;
    } finally {
      await client.end();
    }
  };

  it('the replication role the program made logs in and replicates, as nothing more than that', async function () {
    const [role] = await query(
      set.get('hippo-west'),
      `SELECT rolcanlogin, rolreplication, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls
         FROM pg_roles WHERE rolname = 'federation_replicator'`,
    );
    assert.deepEqual(role, {
      rolcanlogin: true,
      rolreplication: true,
      rolsuper: false,
      rolcreatedb: false,
      rolcreaterole: false,
      rolbypassrls: false,
    });
    assert.deepEqual(await asReplicator('SELECT current_user AS u'), [{ u: 'federation_replicator' }]);
  });

  it("the replication role reads its member's own partition, and nothing else: not another member's, not the table", async function () {
    assert.equal((await asReplicator('SELECT id FROM hippo_west')).length, 25);
    await assert.rejects(asReplicator('SELECT id FROM hippo_east'), /permission denied for table hippo_east/);
    await assert.rejects(asReplicator('SELECT id FROM hippos'), /permission denied for table hippos/);
  });

  it('the replication role cannot write anything, not even its own partition', async function () {
    for (const [sql, table] of [
      [`INSERT INTO hippo_west (id, node_name) VALUES (gen_random_uuid(), 'hippo-west')`, 'hippo_west'],
      ['DELETE FROM hippo_west', 'hippo_west'],
      ['TRUNCATE hippo_west', 'hippo_west'],
      ['UPDATE hippo_east SET value = NULL', 'hippo_east'],
    ] as const) {
      await assert.rejects(asReplicator(sql), new RegExp(`permission denied for table ${table}`), sql);
    }
  });

  it('the replication role is what every subscription logs in as: never the superuser', async function () {
    for (const s of servers(SEED)) {
      const rows = await query<{ conninfo: string }>(
        s,
        'SELECT subconninfo AS conninfo FROM pg_subscription',
      );
      assert.equal(rows.length, 2);
      for (const row of rows) {
        assert.match(row.conninfo, /user='federation_replicator'/);
        assert.ok(!row.conninfo.includes(TEST_PASSWORD), 'the superuser password is in no subscription');
      }
    }
  });

  it('a second preview and a refresh find nothing to change', async function () {
    const preview = await e.stack.preview();
    assert.deepEqual(changes(preview.changeSummary), {});
    const refresh = await e.stack.refresh();
    assert.deepEqual(changes(refresh.summary.resourceChanges), {});
    assert.deepEqual(
      changes((await e.stack.preview()).changeSummary),
      {},
      'and still nothing after the refresh',
    );
  });

  it('hippo-south by a config edit: preview shows 23 creates and nothing else; up returns with its 75 rows there', async function () {
    await e.setConfig(membersConfig([...SEED, 'hippo-south']));
    const preview = await e.stack.preview();
    assert.deepEqual(changes(preview.changeSummary), { create: 23 });
    const up = await e.stack.up();
    assert.deepEqual(changes(up.summary.resourceChanges), { create: 23 });
    const south = set.get('hippo-south');
    assert.equal(await countRows(south), 75, 'the initial copies finished before up returned');
    await query(south, SEED_INSERT);
    await converge(servers([...SEED, 'hippo-south']), 100);
    assert.deepEqual(changes((await e.stack.preview()).changeSummary), {});
  });

  it('a changed admin password of an external member updates in place, and replication keeps flowing', async function () {
    const east = set.get('hippo-east');
    const password = `rotated-${TEST_PASSWORD.slice(0, 12)}`;
    GENERATED_SECRETS.add(password);
    await query(east, `ALTER ROLE postgres PASSWORD '${password}'`);
    east.connection.password = password;
    await e.setSecret('passwords["hippo-east"]', password);
    const preview = await e.stack.preview();
    const ops = changes(preview.changeSummary);
    assert.deepEqual(Object.keys(ops), ['update'], JSON.stringify(preview.changeSummary));
    const up = await e.stack.up();
    assert.deepEqual(Object.keys(changes(up.summary.resourceChanges)), ['update']);
    await query(east, SEED_INSERT);
    await converge(servers([...SEED, 'hippo-south']), 125);
    assert.deepEqual(changes((await e.stack.preview()).changeSummary), {});
  });

  it('hippo-south removed: preview shows 23 deletes; its rows are kept, no slot of it is left, the rest replicate', async function () {
    await e.setConfig(membersConfig(SEED));
    const preview = await e.stack.preview();
    assert.deepEqual(changes(preview.changeSummary), { delete: 23 });
    const up = await e.stack.up();
    assert.deepEqual(changes(up.summary.resourceChanges), { delete: 23 });
    for (const s of servers([...SEED, 'hippo-south'])) {
      const slots = await query<{ slot_name: string }>(s, 'SELECT slot_name FROM pg_replication_slots');
      assert.deepEqual(
        slots.filter((r) => r.slot_name.includes('hippo_south')),
        [],
        `${s.name}: no slot of hippo-south`,
      );
      // Its rows: kept as a detached table hippo_south wherever they were.
      const kept = await query<{ n: string; parent: string | null }>(
        s,
        `SELECT (SELECT count(*) FROM hippo_south)::text AS n,
                (SELECT inhparent::regclass::text FROM pg_inherits WHERE inhrelid = 'hippo_south'::regclass) AS parent`,
      );
      assert.deepEqual(kept, [{ n: '25', parent: null }], `${s.name} keeps hippo-south's 25 rows, detached`);
    }
    assert.deepEqual(await query(set.get('hippo-south'), 'SELECT subname FROM pg_subscription'), []);
    await query(set.get('hippo-central'), SEED_INSERT);
    await converge(servers(SEED), 125);
  });

  it('the state holds no password or conninfo in plain text', async function () {
    const state = await e.exportText();
    for (const secret of GENERATED_SECRETS)
      assert.ok(!state.includes(secret), 'no generated password in the state');
    assert.doesNotMatch(state, /password='/, 'no conninfo in plain text');
    const doc = JSON.parse(state) as {
      deployment: {
        resources: Array<{
          type: string;
          inputs?: Record<string, unknown>;
          outputs?: Record<string, unknown>;
        }>;
      };
    };
    const secret = (v: unknown) =>
      typeof v === 'object' && v !== null && '4dabf18193072939515e22adb298388d' in v && 'ciphertext' in v;
    for (const r of doc.deployment.resources) {
      for (const bag of [r.inputs ?? {}, r.outputs ?? {}]) {
        for (const key of ['conninfo', 'password', 'result']) {
          if (key in bag) assert.ok(secret(bag[key]), `${r.type} ${key} is encrypted`);
        }
        for (const key of ['connection', 'publisherConnection']) {
          const value = bag[key];
          if (value !== undefined) {
            assert.ok(
              secret(value) || secret((value as Record<string, unknown>).password),
              `${r.type} ${key} password is encrypted`,
            );
          }
        }
      }
    }
  });

  it('destroy with hippo-central down fails and keeps every slot tracked; once it is back, destroy leaves nothing', async function () {
    const central = set.get('hippo-central');
    await central.stop();
    try {
      await assert.rejects(e.stack.destroy(), (err: Error) => {
        assert.match(
          err.message,
          /replication slot sub_hippo_\w+_hippo_central lives on publisher "hippo-central"/,
        );
        assert.match(err.message, /nothing was changed and the subscription stays tracked/);
        return true;
      });
      for (const s of servers(['hippo-east', 'hippo-west'])) {
        const subs = await query<{ subname: string }>(
          s,
          'SELECT subname FROM pg_subscription WHERE subname LIKE $1',
          ['%hippo_central'],
        );
        assert.equal(subs.length, 1, `${s.name} still subscribes to hippo-central, tracked in the state`);
      }
    } finally {
      await central.start();
    }
    const destroy = await e.stack.destroy();
    assert.equal(destroy.summary.result, 'succeeded');
    for (const s of servers([...SEED, 'hippo-south'])) {
      assert.deepEqual(await query(s, 'SELECT subname FROM pg_subscription'), [], `${s.name} subscriptions`);
      assert.deepEqual(await query(s, 'SELECT slot_name FROM pg_replication_slots'), [], `${s.name} slots`);
    }
  });
});
