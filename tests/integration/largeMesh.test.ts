/**
 * A mesh larger than the seed's, on servers configured by the same replication settings the
 * program computes (capacity 10): every subscription finishes its initial sync and every member
 * ends up with every row.
 */
import { strict as assert } from 'node:assert';
import { ServerSet, type TestServer, query, waitFor, MAJOR } from '../../scripts/embedded/serverSet';
import { FederationDriver, configFor } from '../support/federationDriver';

const MEMBERS = 8;

describe(`a mesh of ${MEMBERS} members on embedded PostgreSQL ${MAJOR}`, function () {
  let set: ServerSet;
  let servers: TestServer[];
  before(async function () {
    set = await ServerSet.start(Array.from({ length: MEMBERS }, (_, i) => `hippo-${i + 1}`));
    servers = [...set.servers.values()];
  });
  after(async function () {
    await set?.stopAll();
  });

  it("runs with the README's settings for a capacity of 10: 3(N−1) workers, 3(N−1)+4 slots, 3(N−1)+8 senders", async function () {
    const [row] = await query(
      servers[0] as TestServer,
      `SELECT current_setting('max_logical_replication_workers') AS workers, current_setting('max_replication_slots') AS slots,
              current_setting('max_wal_senders') AS senders, current_setting('max_worker_processes') AS processes`,
    );
    assert.deepEqual(row, { workers: '27', slots: '31', senders: '35', processes: '38' });
  });

  it(`syncs all ${MEMBERS * (MEMBERS - 1)} subscriptions, and every member gets every row`, async function () {
    const driver = new FederationDriver(set);
    await driver.up(configFor(servers));
    assert.equal(driver.subscriptions.size, MEMBERS * (MEMBERS - 1));
    for (const server of servers) {
      await query(
        server,
        `INSERT INTO hippos (value, created_at) SELECT NULL, now() FROM generate_series(1, 10)`,
      );
    }
    await waitFor(`${MEMBERS * 10} rows on every member`, async () => {
      const counts = await Promise.all(
        servers.map((s) => query<{ n: string }>(s, 'SELECT count(*) AS n FROM hippos')),
      );
      return counts.every((rows) => rows[0]?.n === String(MEMBERS * 10));
    });
    for (const server of servers) {
      const active = await query(server, `SELECT 1 FROM pg_replication_slots WHERE active`);
      assert.equal(active.length, MEMBERS - 1, `${server.name}: one active slot per subscriber`);
    }
  });
});
