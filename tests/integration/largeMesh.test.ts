/**
 * A mesh larger than the seed's, on servers configured by the same replication settings the
 * program computes (capacity 10): every subscription finishes its initial sync and every member
 * ends up with every row.
 */
import { strict as assert } from 'node:assert';
import { replicationSettings } from '../../components/replicationSettings';
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

  it('runs with the settings the program computes for its capacity', async function () {
    const [row] = await query<{ workers: string; slots: string }>(
      servers[0] as TestServer,
      `SELECT current_setting('max_logical_replication_workers') AS workers, current_setting('max_replication_slots') AS slots`,
    );
    const expected = replicationSettings(10);
    assert.deepEqual(row, {
      workers: String(expected.max_logical_replication_workers),
      slots: String(expected.max_replication_slots),
    });
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
