/**
 * The SlotLimits provider on real servers: the WAL budget set by ALTER SYSTEM and a reload, drift
 * found by read, the server's own earlier setting given back by delete, and a server whose admin
 * role may not ALTER SYSTEM left as it is, saying so.
 */
import { strict as assert } from 'node:assert';
import { type SlotLimitsInputs, slotLimitsProvider as provider } from '../../components/providers/slotLimits';
import { MAJOR, ServerSet, type TestServer, query, waitFor } from '../../scripts/embedded/serverSet';
import { captureReports } from '../support/reports';

describe(`SlotLimits provider on embedded PostgreSQL ${MAJOR}`, function () {
  let set: ServerSet;
  let server: TestServer;
  const setting = async (s: TestServer, name = 'max_slot_wal_keep_size') =>
    (await query<{ v: string }>(s, 'SELECT current_setting($1) AS v', [name]))[0]?.v;
  const inputs = (s: TestServer, mb: number): SlotLimitsInputs => ({
    member: s.name,
    connection: s.connection,
    maxSlotWalKeepSizeMB: mb,
    idleReplicationSlotTimeout: '2d',
  });

  before(async function () {
    set = await ServerSet.start(['budgeted']);
    server = set.get('budgeted');
  });
  after(async function () {
    await set?.stopAll();
  });

  it('sets the budget (and on 18+ the idle timeout) without a restart, and diffs a new one in place', async function () {
    await query(server, "ALTER SYSTEM SET max_slot_wal_keep_size = '4GB'"); // the server's own, before
    await query(server, 'SELECT pg_reload_conf()');
    const created = await provider.create(inputs(server, 128));
    assert.equal(created.outs.applied, true);
    assert.deepEqual(created.outs.before.max_slot_wal_keep_size, '4GB');
    await waitFor('the new budget in effect', async () => (await setting(server)) === '128MB');
    if (MAJOR >= 18) assert.equal(await setting(server, 'idle_replication_slot_timeout'), '2d');
    const diff = await provider.diff('id', created.outs, inputs(server, 256));
    assert.deepEqual([diff.changes, diff.replaces], [true, []]);
    const updated = await provider.update('id', created.outs, inputs(server, 256));
    assert.deepEqual(
      updated.outs.before,
      created.outs.before,
      'what the server had is kept from the first create',
    );
    await waitFor('the changed budget in effect', async () => (await setting(server)) === '256MB');
  });

  it('read finds a budget changed on the server (a failover to a standby without it, a hand edit)', async function () {
    const outs = (
      await provider.update('id', (await provider.create(inputs(server, 256))).outs, inputs(server, 256))
    ).outs;
    await query(server, "ALTER SYSTEM SET max_slot_wal_keep_size = '-1'");
    await query(server, 'SELECT pg_reload_conf()');
    await waitFor('the hand edit in effect', async () => (await setting(server)) === '-1');
    const read = await provider.read('id', outs);
    assert.equal(read.props?.maxSlotWalKeepSizeMB, -1);
    assert.equal((await provider.diff('id', read.props ?? outs, inputs(server, 256))).changes, true);
  });

  it('delete gives the server back its own setting, and leaves one someone changed since', async function () {
    await query(server, "ALTER SYSTEM SET max_slot_wal_keep_size = '4GB'");
    await query(server, 'SELECT pg_reload_conf()');
    const { outs } = await provider.create(inputs(server, 128));
    await provider.delete('id', outs);
    await waitFor('its own 4GB again', async () => (await setting(server)) === '4GB');
    const again = await provider.create(inputs(server, 128));
    await query(server, "ALTER SYSTEM SET max_slot_wal_keep_size = '1GB'"); // an operator's, after ours
    await query(server, 'SELECT pg_reload_conf()');
    await provider.delete('id', again.outs);
    await waitFor('the reload', async () => (await setting(server)) === '1GB');
    assert.equal(await setting(server), '1GB', "the operator's setting stays");
  });

  it("a create cut short after its ALTER SYSTEM (no state written): the next create still records the server's own value", async function () {
    await query(server, "ALTER SYSTEM SET max_slot_wal_keep_size = '3GB'");
    await query(server, 'SELECT pg_reload_conf()');
    await provider.create(inputs(server, 128)); // its outputs lost, as a killed `pulumi up` loses them
    await waitFor('the budget in effect', async () => (await setting(server)) === '128MB');
    const again = await provider.create(inputs(server, 128));
    assert.equal(again.outs.before.max_slot_wal_keep_size, '3GB');
    await provider.delete('id', again.outs);
    await waitFor('its own 3GB again', async () => (await setting(server)) === '3GB');
    const left = await query(server, "SELECT 1 FROM pg_file_settings WHERE name LIKE 'pg_federation.%'");
    assert.deepEqual(left, [], 'the record goes with the resource');
    await query(server, 'ALTER SYSTEM RESET max_slot_wal_keep_size');
    await query(server, 'SELECT pg_reload_conf()');
  });

  it('a server where ALTER SYSTEM is not allowed is left as it is, and says so once', async function () {
    if (MAJOR < 17) {
      // Before 17 a superuser may always ALTER SYSTEM; a role without the right is what stops it.
      await query(server, "CREATE ROLE plain_admin LOGIN PASSWORD 'x-not-a-secret-x'");
      const plain = { ...server.connection, user: 'plain_admin', password: 'x-not-a-secret-x' };
      const { result, reports } = await captureReports(() =>
        provider.create({ ...inputs(server, 64), connection: plain }),
      );
      assert.equal(result.outs.applied, false);
      assert.ok(
        reports.some((r) => /could not ALTER SYSTEM .* set max_slot_wal_keep_size = '64MB'/.test(r)),
        reports.join('\n'),
      );
      return;
    }
    const locked = await set.add('locked', { settings: { allow_alter_system: 'off' } });
    const { result, reports } = await captureReports(() => provider.create(inputs(locked, 64)));
    assert.equal(result.outs.applied, false);
    assert.equal(await setting(locked), '-1', 'unchanged');
    assert.equal(
      reports.filter((r) => /member "locked": its admin role could not ALTER SYSTEM/.test(r)).length,
      1,
      reports.join('\n'),
    );
    await provider.delete('id', result.outs); // nothing to give back
  });
});
