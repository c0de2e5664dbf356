/**
 * The Subscription provider's lifecycle on real servers: create, no-op diff, connection update in
 * place, delete with and without its publisher, and convergence after half-done creates.
 */
import { strict as assert } from 'node:assert';
import { escapeLiteral } from 'pg';
import { replicationConninfo } from '../../components/endpoints';
import {
  type SubscriptionInputs,
  subscriptionProvider as provider,
} from '../../components/providers/subscription';
import { ServerSet, type TestServer, query, waitFor, MAJOR } from '../../scripts/embedded/serverSet';
import { TEST_PASSWORD } from '../support/secrets';
import { FederationDriver, configFor } from '../support/federationDriver';
import { captureReports } from '../support/reports';
import { must } from '../support/must';

const SUB = 'sub_hippo_east_hippo_west';

async function subscription(server: TestServer): Promise<{ oid: string; conninfo: string } | undefined> {
  const rows = await query<{ oid: string; conninfo: string }>(
    server,
    'SELECT oid::text AS oid, subconninfo AS conninfo FROM pg_subscription WHERE subname = $1',
    [SUB],
  );
  return rows[0];
}

async function slotExists(server: TestServer): Promise<boolean> {
  return (await query(server, 'SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [SUB])).length === 1;
}

async function westRowsOnEast(east: TestServer): Promise<number> {
  const [row] = await query<{ n: string }>(
    east,
    `SELECT count(*) AS n FROM hippos WHERE node_name = 'hippo-west'`,
  );
  return Number(row?.n);
}

async function insertOnWest(west: TestServer, rows: number): Promise<void> {
  await query(
    west,
    `INSERT INTO hippos (value, created_at) SELECT '{[2024-01-01,2024-01-02)}', now() FROM generate_series(1, $1)`,
    [rows],
  );
}

describe(`Subscription provider on embedded PostgreSQL ${MAJOR}`, function () {
  let set: ServerSet;
  let east: TestServer;
  let west: TestServer;
  let inputs: SubscriptionInputs;
  const id = `hippo-east/${SUB}`;

  before(async function () {
    set = await ServerSet.start(['hippo-east', 'hippo-west']);
    east = set.get('hippo-east');
    west = set.get('hippo-west');
    const driver = new FederationDriver(set);
    await driver.up(configFor([east, west]));
    const created = driver.subscriptions.get('hippo-east-sub-hippo-west');
    assert.ok(created);
    inputs = created;
  });
  after(async function () {
    await set?.stopAll();
  });

  it('create leaves a ready subscription and its slot; the same inputs diff to no change', async function () {
    assert.ok(await subscription(east));
    assert.ok(await slotExists(west));
    const diff = await provider.diff(id, inputs, inputs);
    assert.equal(diff.changes, false);
    await insertOnWest(west, 3);
    await waitFor('3 rows from hippo-west on hippo-east', async () => (await westRowsOnEast(east)) === 3);
  });

  it(`uses what PostgreSQL ${MAJOR} offers: streaming${MAJOR >= 16 ? ' in parallel, origin = none' : ''}`, async function () {
    const [row] = await query<{ stream: string; origin: string }>(
      east,
      `SELECT substream::text AS stream, ${MAJOR >= 16 ? 'suborigin' : "'any'"} AS origin FROM pg_subscription WHERE subname = $1`,
      [SUB],
    );
    assert.deepEqual(row, MAJOR >= 16 ? { stream: 'p', origin: 'none' } : { stream: 'true', origin: 'any' });
  });

  it('a new endpoint is an in-place ALTER SUBSCRIPTION ... CONNECTION, not a replacement', async function () {
    const before = await subscription(east);
    const cfg = configFor([east, west]);
    const configured = must(cfg.members[1]);
    const westMember = { ...configured, replication: { ...configured.replication, host: 'localhost' } };
    const moved = {
      ...inputs,
      conninfo: replicationConninfo(westMember, 'postgres', 'postgres', TEST_PASSWORD),
    };
    const diff = await provider.diff(id, inputs, moved);
    assert.deepEqual([diff.changes, diff.replaces], [true, []]);
    await provider.update(id, inputs, moved);
    const after = await subscription(east);
    assert.equal(after?.oid, before?.oid, 'same subscription');
    assert.match(after?.conninfo ?? '', /host='localhost'/);
    await insertOnWest(west, 2);
    await waitFor('rows through the new endpoint', async () => (await westRowsOnEast(east)) === 5);
    inputs = moved;
  });

  it('a new name or slot forces a replacement', async function () {
    const diff = await provider.diff(id, inputs, { ...inputs, name: 'sub_other' });
    assert.deepEqual(diff.replaces, ['name']);
  });

  it('delete leaves no subscription on the subscriber and no slot on the publisher', async function () {
    await provider.delete(id, inputs);
    assert.equal(await subscription(east), undefined);
    assert.equal(await slotExists(west), false);
    await provider.delete(id, inputs); // a second delete finds nothing to do
  });

  it('create after a half-done create (slot made, subscription not) adopts the slot and converges', async function () {
    // As the provider makes it: a failover slot where both ends run 17+.
    await query(
      west,
      MAJOR >= 17
        ? "SELECT pg_create_logical_replication_slot($1, 'pgoutput', false, false, true)"
        : "SELECT pg_create_logical_replication_slot($1, 'pgoutput')",
      [SUB],
    );
    const { reports } = await captureReports(() => provider.create(inputs));
    assert.ok(
      reports.some((r) => r.includes(`adopted the unused replication slot ${SUB} on publisher "hippo-west"`)),
      reports.join('\n'),
    );
    // East still held its copy of west's 5 rows: replaced by a full copy from the owner, not duplicated.
    assert.ok(
      reports.some((r) =>
        r.includes(
          'the stale local copy of public.hippo_west (5 rows) was emptied; a full copy from its owner "hippo-west" is under way',
        ),
      ),
      reports.join('\n'),
    );
    assert.ok(await subscription(east));
    assert.equal(await westRowsOnEast(east), 5);
  });

  it('create after a half-done create (subscription made, its copy not started, the state not written) adopts it', async function () {
    // What a create killed after its transaction committed leaves: the slot on the publisher, the
    // subscription (here disabled, so its copy cannot start), the stale copy already emptied.
    await provider.delete(id, inputs);
    await query(west, "SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [SUB]);
    await query(
      east,
      `SET session_replication_role = replica; TRUNCATE hippo_west; RESET session_replication_role;
       CREATE SUBSCRIPTION ${SUB} CONNECTION ${escapeLiteral(inputs.conninfo)} PUBLICATION pub_hippo_west
         WITH (create_slot = false, slot_name = ${escapeLiteral(SUB)}, copy_data = true, enabled = false)`,
    );
    const before = await subscription(east);
    assert.ok(before);
    const states = async () =>
      (
        await query<{ s: string }>(
          east,
          `SELECT r.srsubstate::text AS s FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid WHERE s.subname = $1`,
          [SUB],
        )
      ).map((r) => r.s);
    assert.notDeepEqual(await states(), ['r'], 'the copy has not run');
    assert.equal(await westRowsOnEast(east), 0);
    const { reports } = await captureReports(() => provider.create(inputs));
    assert.equal((await subscription(east))?.oid, before.oid, 'the same subscription, adopted');
    assert.deepEqual(await states(), ['r'], 'enabled and copied before create returned');
    const [owned] = await query<{ n: string }>(west, 'SELECT count(*) AS n FROM hippo_west');
    assert.equal(await westRowsOnEast(east), Number(owned?.n), "every row of west's partition, once");
    assert.deepEqual(
      reports.filter((r) => /dropped replication slot/.test(r)),
      [],
      'its slot was kept: it was the subscription’s',
    );
  });

  it('delete with the publisher stopped fails, changes nothing, and succeeds once the publisher is back', async function () {
    await west.stop();
    try {
      await assert.rejects(provider.delete(id, inputs), (err: Error) => {
        assert.match(
          err.message,
          new RegExp(
            `^subscription ${SUB} on "hippo-east": its replication slot ${SUB} lives on publisher "hippo-west" ` +
              `\\(postgres@127\\.0\\.0\\.1:\\d+/postgres\\), which could not drop it: could not connect to publisher`,
          ),
        );
        assert.match(
          err.message,
          /so nothing was changed and the subscription stays tracked\. Bring "hippo-west" back and run again; if its server is gone for good, add it to pg-federation:lostMembers/,
        );
        assert.ok(!err.message.includes(TEST_PASSWORD));
        return true;
      });
      assert.ok(await subscription(east), 'the subscription is still there, and tracked');
    } finally {
      await west.start();
    }
    assert.equal(await slotExists(west), true, 'and so is its slot');
    await provider.delete(id, inputs);
    assert.equal(await subscription(east), undefined);
    assert.equal(await slotExists(west), false, 'the slot went with it');
  });

  it('delete with the publisher listed in lostMembers drops the subscription without reaching it', async function () {
    await provider.create(inputs);
    await west.stop();
    try {
      await provider.configure({
        config: { get: (k) => (k === 'pg-federation:lostMembers' ? '["hippo-west"]' : undefined) },
      });
      const { reports } = await captureReports(() => provider.delete(id, inputs));
      assert.equal(await subscription(east), undefined);
      assert.ok(
        reports.some((r) =>
          r.includes(`dropped without its slot ${SUB}: publisher "hippo-west" is listed in lostMembers`),
        ),
        reports.join('\n'),
      );
    } finally {
      await provider.configure({ config: { get: () => undefined } });
      await west.start();
    }
    // In this test the "lost" server came back with its slot: what the next create cleans up.
    assert.equal(await slotExists(west), true);
  });

  it('a create with the publisher down fails with a clear, redacted error; once it is back, create converges', async function () {
    await west.stop();
    try {
      await assert.rejects(provider.create(inputs), (err: Error) => {
        assert.match(
          err.message,
          /subscription sub_hippo_east_hippo_west on "hippo-east" to "hippo-west": cannot connect to member "hippo-west" at postgres@127\.0\.0\.1:\d+\/postgres/,
        );
        assert.ok(!err.message.includes(TEST_PASSWORD));
        return true;
      });
    } finally {
      await west.start();
    }
    // The slot the previous test left (its publisher was listed lost) is unused and healthy: adopted.
    const { reports } = await captureReports(() => provider.create(inputs));
    assert.ok(
      reports.some((r) => r.includes(`adopted the unused replication slot ${SUB}`)),
      reports.join('\n'),
    );
    const [count] = await query<{ n: string }>(west, `SELECT count(*) AS n FROM hippo_west`);
    assert.equal(await westRowsOnEast(east), Number(count?.n));
    await insertOnWest(west, 1);
    await waitFor(
      'replication flows again',
      async () => (await westRowsOnEast(east)) === Number(count?.n) + 1,
    );
  });

  it('an initial sync that cannot finish fails after syncTimeoutSeconds with a clear error', async function () {
    await provider.delete(id, inputs);
    // A trigger that fires even for replicated rows and rejects them: the copy can never complete.
    await query(
      east,
      `CREATE FUNCTION reject_copy() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no'; END $$;
       CREATE TRIGGER reject_copy BEFORE INSERT ON hippo_west FOR EACH ROW EXECUTE FUNCTION reject_copy();
       ALTER TABLE hippo_west ENABLE ALWAYS TRIGGER reject_copy;`,
    );
    try {
      await assert.rejects(provider.create({ ...inputs, syncTimeoutSeconds: 3 }), (err: Error) => {
        assert.match(
          err.message,
          /subscription sub_hippo_east_hippo_west on "hippo-east" to "hippo-west": initial sync not ready after 3s \(table states: public\.hippo_west=[a-z]; r = ready\)\. The subscriber's server log says why/,
        );
        return true;
      });
    } finally {
      await query(east, 'DROP TRIGGER reject_copy ON hippo_west; DROP FUNCTION reject_copy()');
    }
    // The subscription was left in place; the next create adopts it and now finishes.
    await provider.create(inputs);
    const [count] = await query<{ n: string }>(west, `SELECT count(*) AS n FROM hippo_west`);
    await waitFor('the copy completes', async () => (await westRowsOnEast(east)) === Number(count?.n));
  });

  it('a wrong password fails clearly, after trying again for the time given, and never shows the password', async function () {
    const wrong = 'not-the-password-7f3a';
    const bad = { ...inputs, connection: { ...inputs.connection, password: wrong } };
    process.env.PG_FEDERATION_AUTH_WAIT_SECONDS = '2';
    const started = Date.now();
    await assert.rejects(
      provider.create(bad).finally(() => delete process.env.PG_FEDERATION_AUTH_WAIT_SECONDS),
      (err: Error) => {
        assert.ok(Date.now() - started >= 2000, 'it tried again for 2 s, as a password being rotated needs');
        assert.match(err.message, /\(tried for 2 s, in case a new password was still being applied\)$/);
        assert.match(err.message, /cannot connect to member "hippo-east"/);
        assert.match(err.message, /password authentication failed/);
        assert.ok(!err.message.includes(wrong) && !err.message.includes(TEST_PASSWORD));
        return true;
      },
    );
  });

  it("a re-create never empties a table the publisher's publication names but this subscription does not feed", async function () {
    // A table `precious` on both servers, added by hand to pub_hippo_west on hippo-west.
    for (const server of [east, west]) {
      await query(server, 'CREATE TABLE precious (id int PRIMARY KEY, note text)');
    }
    await query(east, `INSERT INTO precious SELECT n, 'east''s own' FROM generate_series(1, 100) n`);
    await query(west, `INSERT INTO precious SELECT n, 'west''s' FROM generate_series(1, 5) n`);
    await query(west, 'ALTER PUBLICATION pub_hippo_west ADD TABLE precious');
    const copyBefore = await westRowsOnEast(east);
    assert.ok(copyBefore > 0);
    try {
      await provider.delete(id, inputs);
      await assert.rejects(provider.create(inputs), (err: Error) => {
        // At once, before the subscription commits: not the sync timeout's error.
        assert.match(
          err.message,
          /^subscription sub_hippo_east_hippo_west on "hippo-east" to "hippo-west": publication pub_hippo_west on "hippo-west" publishes public\.precious, which this subscription does not feed .* Nothing was changed here$/,
        );
        assert.doesNotMatch(err.message, /initial sync not ready/);
        return true;
      });
      const [kept] = await query<{ n: string; notes: string }>(
        east,
        `SELECT count(*) AS n, string_agg(DISTINCT note, ',') AS notes FROM precious`,
      );
      assert.deepEqual(
        [kept?.n, kept?.notes],
        ['100', "east's own"],
        'precious keeps its 100 rows, untouched',
      );
      assert.equal(
        await westRowsOnEast(east),
        copyBefore,
        "east's copy of hippo_west was not emptied either",
      );
      assert.equal(await subscription(east), undefined, 'no subscription was left half made');
      assert.equal(await slotExists(west), false, 'nor a slot');
    } finally {
      await query(west, 'ALTER PUBLICATION pub_hippo_west DROP TABLE precious');
    }
    // With the publication back to the federation's own partition, the create goes through.
    await provider.create(inputs);
    const [count] = await query<{ n: string }>(west, `SELECT count(*) AS n FROM hippo_west`);
    assert.equal(await westRowsOnEast(east), Number(count?.n));
    const [precious] = await query<{ n: string }>(east, 'SELECT count(*) AS n FROM precious');
    assert.equal(precious?.n, '100');
  });

  it('delete when the publisher answers but holds no such slot and refuses the replication conninfo (a rebuilt server): dropped without a slot, not refused', async function () {
    // Before: DROP SUBSCRIPTION tried the replication conninfo, which the rebuilt server refuses,
    // and the delete failed with "could not drop it" although there was nothing left to drop.
    assert.ok(await subscription(east));
    await query(east, `ALTER SUBSCRIPTION ${SUB} DISABLE`);
    await waitFor(
      'the slot released',
      async () =>
        (await query(west, 'SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND NOT active', [SUB]))
          .length === 1,
    );
    await query(west, 'SELECT pg_drop_replication_slot($1)', [SUB]);
    // What the subscriber's server will try: a role the rebuilt publisher does not let in.
    await query(
      east,
      `ALTER SUBSCRIPTION ${SUB} CONNECTION 'host=127.0.0.1 port=${west.port} dbname=postgres user=no_such_replicator connect_timeout=5'`,
    );
    await assert.rejects(
      query(east, `DROP SUBSCRIPTION ${SUB}`),
      /could not connect to publisher when attempting to drop replication slot/,
    );
    const { reports } = await captureReports(() => provider.delete(id, inputs));
    assert.ok(
      reports.some((r) =>
        r.includes(
          `subscription ${SUB} on "hippo-east": dropped; its slot ${SUB} was already gone from publisher "hippo-west"`,
        ),
      ),
      reports.join('\n'),
    );
    assert.equal(await subscription(east), undefined);
    assert.equal(await slotExists(west), false);
  });
});
