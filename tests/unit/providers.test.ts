/**
 * The dynamic providers' check and diff with what a real preview hands them: inputs that are not
 * known yet (a new member's generated password, a conninfo built from it) arrive as the engine's
 * unknown sentinel, at the top level or inside an object. Check validates only what is known; diff
 * reports a change for what is unknown, and a replacement only where an identity field is unknown.
 */
import { strict as assert } from 'node:assert';
import { unknownValue } from '@pulumi/pulumi/runtime/rpc';
import type { PgConnection } from '../../components/providers/connection';
import { federatedTableProvider } from '../../components/providers/federatedTable';
import { UNKNOWN, changedKeys, containsUnknown, sameValue } from '../../components/providers/inputs';
import { type PartitionInputs, partitionProvider } from '../../components/providers/partition';
import { movedServer, serverCheckProvider } from '../../components/providers/serverCheck';
import { type SubscriptionInputs, subscriptionProvider } from '../../components/providers/subscription';
import { SEED_TABLE } from '../../components/config/tables';

const connection: PgConnection = {
  host: '127.0.0.1',
  port: 5432,
  database: 'postgres',
  user: 'postgres',
  password: 'known',
  sslmode: 'disable',
};
const unknownPassword = { ...connection, password: UNKNOWN } as PgConnection;
const U = UNKNOWN as never;

const subscription: SubscriptionInputs = {
  subscriber: 'hippo-east',
  publisher: 'hippo-south',
  connection,
  publisherConnection: connection,
  conninfo: "host='hippo-south' password='x'",
  name: 'sub_hippo_east_hippo_south',
  publication: 'pub_hippo_south',
  slotName: 'sub_hippo_east_hippo_south',
  syncTimeoutSeconds: 300,
  landings: [{ schema: 'public', table: 'hippos', partition: 'hippo_south' }],
};
const partition: PartitionInputs = {
  member: 'hippo-east',
  owner: 'hippo-south',
  connection,
  schema: 'public',
  table: 'hippos',
  partition: 'hippo_south',
  createSql: 'CREATE TABLE …',
  guardSql: 'CREATE TRIGGER …',
  onDelete: 'detach',
  publication: '',
  subscription: 'sub_hippo_east_hippo_south',
};
const table = {
  member: 'hippo-east',
  connection,
  schema: 'public',
  table: 'hippos',
  columns: SEED_TABLE.columns,
  primaryKey: SEED_TABLE.primaryKey,
  ownerColumn: SEED_TABLE.ownerColumn,
  defaultPartition: SEED_TABLE.defaultPartition,
  sql: 'CREATE TABLE IF NOT EXISTS …',
};

describe('dynamic providers in a preview, with inputs not known yet', function () {
  it("uses the engine's own unknown sentinel", function () {
    assert.equal(UNKNOWN, unknownValue);
    assert.equal(containsUnknown({ a: [1, { b: UNKNOWN }] }), true);
    assert.equal(containsUnknown({ a: [1, { b: 'x' }] }), false);
    assert.equal(sameValue(UNKNOWN, UNKNOWN), false, 'an unknown may be anything');
    assert.equal(sameValue({ a: 1, b: 2 }, { b: 2, a: 1 }), true, 'key order does not matter');
  });

  it('Subscription: an unknown conninfo (a new member) passes check; diff updates, never replaces', async function () {
    const news = { ...subscription, conninfo: U };
    assert.deepEqual((await subscriptionProvider.check(subscription, news)).failures, []);
    assert.deepEqual(await subscriptionProvider.diff('id', subscription, news), {
      changes: true,
      replaces: [],
      deleteBeforeReplace: true,
    });
  });

  it('Subscription: an unknown password in either connection updates in place; a wholly unknown connection may replace', async function () {
    const diff = await subscriptionProvider.diff('id', subscription, {
      ...subscription,
      connection: unknownPassword,
      publisherConnection: unknownPassword,
    });
    assert.deepEqual([diff.changes, diff.replaces], [true, []]);
    const whole = await subscriptionProvider.diff('id', subscription, { ...subscription, connection: U });
    assert.deepEqual(
      whole.replaces,
      ['connection'],
      'its database is not known, and another database is another subscription',
    );
  });

  it('Subscription: check still rejects known bad values next to unknown ones', async function () {
    const { failures } = await subscriptionProvider.check(subscription, {
      ...subscription,
      conninfo: U,
      name: 'Robert"); DROP TABLE',
    });
    assert.deepEqual(
      failures.map((f) => f.property),
      ['name'],
    );
  });

  it('Subscription: landings, used at creation only, do not make a change (a table added later joins by its partition)', async function () {
    const more = {
      ...subscription,
      landings: [
        ...(subscription.landings ?? []),
        { schema: 'public', table: 'orders', partition: 'orders_hippo_south' },
      ],
    };
    assert.equal((await subscriptionProvider.diff('id', subscription, more)).changes, false);
  });

  it('Subscription: a state from before failover slots and synchronous_commit updates in place only where they change something', async function () {
    const older = { ...subscription };
    delete older.failover;
    delete older.synchronousCommit;
    const same = { ...older, failover: false, synchronousCommit: 'off' };
    assert.equal((await subscriptionProvider.diff('id', older, same)).changes, false, 'what it did before');
    const newer = { ...older, failover: true, synchronousCommit: 'on' };
    assert.deepEqual(await subscriptionProvider.diff('id', older, newer), {
      changes: true,
      replaces: [],
      deleteBeforeReplace: true,
    });
  });

  it('Subscription: a refresh that found its slot gone or lost replaces this pair, and only with a new slot', async function () {
    for (const slotState of ['missing', 'lost'] as const) {
      const diff = await subscriptionProvider.diff('id', { ...subscription, slotState }, subscription);
      assert.deepEqual([diff.changes, diff.replaces], [true, ['slotName']], slotState);
    }
    assert.deepEqual((await subscriptionProvider.diff('id', subscription, subscription)).replaces, []);
  });

  it('Partition: unknown connection fields pass check and update in place; an unknown name replaces', async function () {
    const news = { ...partition, connection: unknownPassword, publisherConnection: U };
    assert.deepEqual((await partitionProvider.check(partition, news)).failures, []);
    assert.deepEqual(await partitionProvider.diff('id', partition, news), {
      changes: true,
      replaces: [],
      deleteBeforeReplace: true,
    });
    const renamed = await partitionProvider.diff('id', partition, { ...partition, partition: U });
    assert.deepEqual(renamed.replaces, ['partition']);
  });

  it('FederatedTable: an unknown connection updates; unknown SQL passes check', async function () {
    assert.deepEqual((await federatedTableProvider.check(table, { ...table, sql: U })).failures, []);
    assert.deepEqual(
      await federatedTableProvider.diff('id', table, { ...table, connection: unknownPassword }),
      {
        changes: true,
        replaces: [],
      },
    );
    assert.deepEqual(await federatedTableProvider.diff('id', table, table), { changes: false, replaces: [] });
  });

  it('FederatedTable: state from the first release (SQL text only) is no change while the table is still the seed', async function () {
    const legacy = {
      member: 'hippo-east',
      connection,
      schema: 'public',
      table: 'hippos',
      sql: 'the old text',
    };
    assert.deepEqual(await federatedTableProvider.diff('id', legacy as never, table), {
      changes: false,
      replaces: [],
    });
    const wider = { ...table, columns: [...table.columns, { name: 'weight', type: 'int', notNull: false }] };
    assert.equal((await federatedTableProvider.diff('id', legacy as never, wider)).changes, true);
  });

  it('ServerCheck: an endpoint moved to another server is explained by what the state recorded', function () {
    const olds = { member: 'vm', connection, systemIdentifier: '7000000000000000001' };
    const moved = { connection: { ...connection, port: 5433 } };
    const other = '7000000000000000002';
    // The same server, a state without the identifier, or the same endpoint: nothing to say.
    assert.equal(movedServer(olds, moved, olds.systemIdentifier), undefined);
    assert.equal(movedServer({ member: 'vm', connection }, moved, other), undefined);
    assert.equal(movedServer(olds, { connection }, other), undefined);
    // Another server without a new generation: the way to move it.
    assert.match(
      movedServer(olds, moved, other) ?? '',
      /^member "vm": its endpoint changed from 127\.0\.0\.1:5432\/postgres to 127\.0\.0\.1:5433\/postgres, which is another server \(system identifier 7000000000000000002, was 7000000000000000001\)\. Nothing was changed\. .*raise its serverGeneration to 2 in the same edit/,
    );
    // A new generation that reaches this update: the state predates generations (no replacement was planned).
    assert.match(
      movedServer(olds, { ...moved, serverGeneration: 2 }, other) ?? '',
      /state was last written by a version of pg-federation that did not record it, so the move cannot be planned: revert both edits, run `pulumi up` once, then make them again$/,
    );
  });

  it('ServerCheck: an unknown member count or password checks the server again, in place', async function () {
    const olds = {
      member: 'vm',
      connection,
      members: 3,
      recommended: {},
      serverVersion: '18.4',
      supportsMembers: 10,
    };
    assert.deepEqual(await serverCheckProvider.diff('id', olds, { ...olds, members: U }), {
      changes: true,
      replaces: [],
    });
    assert.deepEqual(await serverCheckProvider.diff('id', olds, { ...olds, connection: unknownPassword }), {
      changes: true,
      replaces: [],
    });
    assert.deepEqual(await serverCheckProvider.diff('id', olds, { ...olds, members: 4 }), {
      changes: false,
      replaces: [],
    });
  });

  it('changedKeys: a key added by a newer version counts only when its value is not what the older one did', function () {
    type T = { a?: number; b?: number };
    const olds: T = { a: 1 };
    assert.deepEqual(changedKeys<T>(olds, { a: 1, b: 2 }, ['a', 'b']), ['b']);
    assert.deepEqual(changedKeys<T>(olds, { a: 1, b: 2 }, ['a', 'b'], { b: (v) => v === 2 }), []);
  });
});
