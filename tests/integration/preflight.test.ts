/**
 * The preflight check of external members against real servers that cannot join: each failure names
 * its setting, its value and what is needed.
 */
import { strict as assert } from 'node:assert';
import { replicationSettings } from '../../components/replicationSettings';
import { serverCheckProvider } from '../../components/providers/serverCheck';
import { ServerSet, MAJOR, query } from '../../scripts/embedded/serverSet';
import { TEST_PASSWORD } from '../support/secrets';

describe(`preflight of external members on embedded PostgreSQL ${MAJOR}`, function () {
  let set: ServerSet;
  before(async function () {
    set = await ServerSet.start([]);
    await Promise.all([
      set.add('no-logical', { settings: { wal_level: 'replica' } }),
      set.add('few-slots', { settings: { max_replication_slots: 2 } }),
      set.add('ready', { capacity: 4 }),
      // Replication settings for 11 members, origins left at PostgreSQL 18's default (10).
      set.add('origins-default', {
        capacity: 11,
        settings: MAJOR >= 18 ? { max_active_replication_origins: 10 } : {},
      }),
      set.add('another', { capacity: 4 }),
    ]);
  });
  after(async function () {
    await set?.stopAll();
  });

  const check = (name: string) =>
    serverCheckProvider.create({
      member: name,
      connection: set.get(name).connection,
      members: 4,
      recommended: { ...replicationSettings(10) },
    });

  it('stops on a server without wal_level=logical, naming the setting', async function () {
    await assert.rejects(check('no-logical'), (err: Error) => {
      assert.match(err.message, /member "no-logical" cannot join the federation yet/);
      assert.match(err.message, /wal_level is replica, needs logical \(set it and restart the server\)/);
      assert.ok(!err.message.includes(TEST_PASSWORD));
      return true;
    });
  });

  it('stops on a server with too few replication slots for the mesh, naming the value needed', async function () {
    await assert.rejects(
      check('few-slots'),
      /max_replication_slots is 2, needs at least 4 for 4 members \(recommended 31\)/,
    );
  });

  it(`${MAJOR >= 18 ? 'stops on' : 'passes'} a server for 11 members whose replication origins are left at PostgreSQL 18's default`, async function () {
    const check11 = serverCheckProvider.create({
      member: 'origins-default',
      connection: set.get('origins-default').connection,
      members: 11,
      recommended: { ...replicationSettings(11) },
    });
    if (MAJOR < 18) {
      // Before 18 the origins are bounded by max_replication_slots, sized for 11 members.
      await check11;
      return;
    }
    await assert.rejects(check11, (err: Error) => {
      assert.match(
        err.message,
        /max_active_replication_origins is 10, needs at least 11 for 11 members \(recommended 34\); set it and restart the server/,
      );
      return true;
    });
  });

  it('passes a server configured as the program recommends, and reports its version', async function () {
    const result = await check('ready');
    assert.match(result.outs.serverVersion, new RegExp(`^${MAJOR}\\.`));
    assert.equal(
      result.outs.supportsMembers,
      9,
      'settings for capacity 4 allow 9 logical replication workers',
    );
    const grown = { ...result.outs, members: 9 };
    assert.equal(
      (await serverCheckProvider.diff('id', result.outs, grown)).changes,
      false,
      'growth within support: no re-check',
    );
    assert.equal(
      (await serverCheckProvider.diff('id', result.outs, { ...grown, members: 10 })).changes,
      true,
    );
  });

  it('refuses an endpoint edited to reach another server, and passes the same server under another name', async function () {
    const created = await check('ready');
    const id = created.outs.systemIdentifier;
    assert.match(id ?? '', /^\d{10,}$/, 'the server says which it is');
    const inputs = { ...created.outs, connection: set.get('another').connection };
    await assert.rejects(serverCheckProvider.update('id', created.outs, inputs), (err: Error) => {
      const from = `127.0.0.1:${set.get('ready').port}/postgres`;
      const to = `127.0.0.1:${set.get('another').port}/postgres`;
      assert.ok(
        err.message.includes(
          `member "ready": its endpoint changed from ${from} to ${to}, which is another server`,
        ),
        err.message,
      );
      assert.match(err.message, new RegExp(`was ${id}\\)\\. Nothing was changed`));
      assert.match(err.message, /raise its serverGeneration to 2 in the same edit/);
      assert.ok(!err.message.includes(TEST_PASSWORD));
      return true;
    });
    // The same server by another name keeps its identity.
    const renamed = { ...created.outs, connection: { ...set.get('ready').connection, host: 'localhost' } };
    const updated = await serverCheckProvider.update('id', created.outs, renamed);
    assert.equal(updated.outs.systemIdentifier, id);
    // A state written before the identifier was recorded cannot tell: it passes and records it.
    const legacy = { ...created.outs, systemIdentifier: undefined };
    const recorded = await serverCheckProvider.update('id', legacy, inputs);
    const [another] = await query<{ id: string }>(
      set.get('another'),
      'SELECT system_identifier::text AS id FROM pg_control_system()',
    );
    assert.equal(recorded.outs.systemIdentifier, another?.id, 'the identifier of the server it now reaches');
    assert.notEqual(another?.id, id);
    // A refresh records which server answers now.
    const read = await serverCheckProvider.read('id', { ...created.outs, connection: inputs.connection });
    assert.equal(read.props?.systemIdentifier, recorded.outs.systemIdentifier);
  });

  it('moves a member only to a new server: a new generation at a server that already has its publication is refused', async function () {
    const ready = set.get('ready');
    await query(ready, 'CREATE PUBLICATION pub_ready');
    try {
      const moved = {
        member: 'ready',
        connection: ready.connection,
        members: 4,
        recommended: {},
        serverGeneration: 2,
        publication: 'pub_ready',
      };
      await assert.rejects(
        serverCheckProvider.create(moved),
        new RegExp(
          `member "ready": serverGeneration 2 moves it to a new server, but the server at 127\\.0\\.0\\.1:${ready.port}/postgres ` +
            'already has its publication pub_ready: .* set serverGeneration back to 1',
        ),
      );
      // Generation 1, or a server without it: checked as ever.
      await serverCheckProvider.create({ ...moved, serverGeneration: 1 });
      await serverCheckProvider.create({ ...moved, connection: set.get('another').connection });
    } finally {
      await query(ready, 'DROP PUBLICATION pub_ready');
    }
  });
});
