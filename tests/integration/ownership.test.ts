/**
 * Nothing lost, on a live federation of real servers: forbidden writes rejected naming the owner
 * while replication flows, member removal, and a member that was down catching up. (The replication
 * role's limits are checked on the role the program makes, through the engine: tests/e2e/lifecycle.)
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ServerSet, type TestServer, query, waitFor, MAJOR } from '../../scripts/embedded/serverSet';
import { TEST_PASSWORD } from '../support/secrets';
import { FederationDriver, configFor } from '../support/federationDriver';
import { captureReports } from '../support/reports';

const SEED_INSERT = readFileSync(path.join(__dirname, '..', '..', 'sql', 'seed', 'insert.sql'), 'utf8');

async function counts(server: TestServer): Promise<string> {
  const rows = await query<{ node_name: string; n: string }>(
    server,
    'SELECT node_name, count(*) AS n FROM hippos GROUP BY node_name ORDER BY node_name',
  );
  return rows.map((r) => `${r.node_name}=${r.n}`).join(' ');
}

/** A digest of every id in `hippos`: equal digests, equal row sets. */
async function ids(server: TestServer): Promise<string> {
  const [row] = await query<{ digest: string; n: string }>(
    server,
    `SELECT md5(coalesce(string_agg(id::text, ',' ORDER BY id), '')) AS digest, count(*) AS n FROM hippos`,
  );
  return `${row?.n}:${row?.digest}`;
}

async function converged(servers: TestServer[], timeoutMs = 60_000): Promise<number> {
  return waitFor(
    'every member to hold the same rows',
    async () => new Set(await Promise.all(servers.map(ids))).size === 1,
    timeoutMs,
    async () => (await Promise.all(servers.map(async (s) => `${s.name}: ${await counts(s)}`))).join('; '),
  );
}

describe(`ownership, roles, removal and recovery on embedded PostgreSQL ${MAJOR}`, function () {
  let set: ServerSet;
  let driver: FederationDriver;
  const seed = ['hippo-east', 'hippo-central', 'hippo-west'];
  let east: TestServer;
  let central: TestServer;
  let west: TestServer;
  let south: TestServer;

  before(async function () {
    set = await ServerSet.start([...seed, 'hippo-south']);
    [east, central, west, south] = [...seed, 'hippo-south'].map((n) => set.get(n)) as [
      TestServer,
      TestServer,
      TestServer,
      TestServer,
    ];
    driver = new FederationDriver(set);
    await driver.up(configFor([east, central, west]));
    for (const server of [east, central, west]) await query(server, SEED_INSERT);
    await converged([east, central, west]);
  });
  after(async function () {
    await set?.stopAll();
  });

  describe('the ownership guard', function () {
    const forbidden: Array<[string, string, RegExp]> = [
      [
        "an INSERT of another member's row",
        `INSERT INTO hippos (node_name, value) VALUES ('hippo-west', '{[2024-01-01,2024-01-02)}')`,
        /rows of member hippo-west are written only on member hippo-west, not here on member hippo-east/,
      ],
      [
        "an INSERT straight into another member's partition",
        `INSERT INTO hippo_central (id, node_name) VALUES (gen_random_uuid(), 'hippo-central')`,
        /rows of member hippo-central are written only on member hippo-central/,
      ],
      [
        "an UPDATE of another member's rows",
        `UPDATE hippos SET value = '{[2030-01-01,2030-01-02)}' WHERE node_name = 'hippo-west'`,
        /rows of member hippo-west are written only on member hippo-west/,
      ],
      [
        "a DELETE of another member's rows",
        `DELETE FROM hippos WHERE node_name = 'hippo-central'`,
        /rows of member hippo-central are written only on member hippo-central/,
      ],
      [
        "a TRUNCATE of another member's partition",
        'TRUNCATE hippo_west',
        /rows of member hippo-west are written only on member hippo-west/,
      ],
      [
        "an UPDATE moving a local row into another member's partition",
        `UPDATE hippos SET node_name = 'hippo-west' WHERE node_name = 'hippo-east'`,
        /rows of member hippo-west are written only on member hippo-west/,
      ],
      [
        'an INSERT into the default partition',
        `INSERT INTO hippos (node_name, value) VALUES (NULL, '{[2024-01-01,2024-01-02)}')`,
        /the default partition hippo_default takes no writes: every row belongs to a member/,
      ],
      [
        'an INSERT for a member that does not exist',
        `INSERT INTO hippos (node_name) VALUES ('hippo-nowhere')`,
        /the default partition hippo_default takes no writes/,
      ],
    ];
    for (const [what, sql, expected] of forbidden) {
      it(`rejects ${what} on hippo-east, naming the owner`, async function () {
        await assert.rejects(query(east, sql), expected);
      });
    }

    it("rejects a bulk INSERT into another member's partition whole: no row of it is kept", async function () {
      const before = await counts(east);
      await assert.rejects(
        query(
          east,
          `INSERT INTO hippo_central (id, node_name) SELECT gen_random_uuid(), 'hippo-central' FROM generate_series(1, 1000)`,
        ),
        /rows of member hippo-central are written only on member hippo-central/,
      );
      assert.equal(await counts(east), before);
    });

    it('guards the landing partitions with AFTER row triggers, so that their initial copy inserts in batches', async function () {
      // COPY (the initial copy of a subscription included) inserts row by row into a table with any
      // BEFORE or INSTEAD OF row trigger on INSERT, enabled or not (PostgreSQL's copyfrom.c).
      const triggers = await query<{ relname: string; tgname: string; before: boolean }>(
        east,
        `SELECT c.relname, t.tgname, (t.tgtype & 2) <> 0 AS before
           FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
          WHERE NOT t.tgisinternal AND (t.tgtype & 1) <> 0 AND (t.tgtype & 4) <> 0
            AND c.relname IN ('hippo_central', 'hippo_west')
          ORDER BY 1`,
      );
      assert.deepEqual(triggers, [
        { relname: 'hippo_central', tgname: 'federation_guard', before: false },
        { relname: 'hippo_west', tgname: 'federation_guard', before: false },
      ]);
    });

    it('lets the owner write, and replication keep flowing, with equal counts everywhere', async function () {
      await query(
        east,
        `UPDATE hippos SET value = '{[2031-01-01,2031-01-02)}' WHERE node_name = 'hippo-east'`,
      );
      await query(west, SEED_INSERT);
      await converged([east, central, west]);
      for (const server of [east, central, west]) {
        assert.equal(await counts(server), 'hippo-central=25 hippo-east=25 hippo-west=50');
      }
    });
  });

  describe('a member down, and back', function () {
    it('catches up from its slots: 1,000 rows written on each other member while it was down', async function () {
      await central.stop();
      try {
        for (const server of [east, west]) {
          await query(
            server,
            `INSERT INTO hippos (value, created_at) SELECT '{[2024-02-01,2024-02-02)}', clock_timestamp() FROM generate_series(1, 1000)`,
          );
        }
      } finally {
        await central.start();
      }
      await converged([east, central, west]);
      assert.equal(await counts(central), 'hippo-central=25 hippo-east=1025 hippo-west=1050');
    });

    it('a member down during an update gives a clear, redacted error; the re-run converges once it is back', async function () {
      await west.stop();
      try {
        await assert.rejects(driver.up(configFor([east, central, west, south])), (err: Error) => {
          assert.match(
            err.message,
            /cannot connect to member "hippo-west" at postgres@127\.0\.0\.1:\d+\/postgres/,
          );
          assert.ok(!err.message.includes(TEST_PASSWORD));
          return true;
        });
      } finally {
        await west.start();
      }
      await driver.up(configFor([east, central, west, south]));
      await query(south, SEED_INSERT);
      await converged([east, central, west, south]);
      assert.equal(await counts(south), 'hippo-central=25 hippo-east=1025 hippo-south=25 hippo-west=1050');
    });
  });

  describe('removing a member by editing the config', function () {
    it('drops every subscription to and from it and their slots, keeps its rows, and the rest keep replicating', async function () {
      const remaining = [east, central, west];
      const { reports } = await captureReports(() => driver.up(configFor(remaining)));
      for (const server of [...remaining, south]) {
        const subs = await query<{ subname: string }>(
          server,
          `SELECT subname FROM pg_subscription WHERE subname LIKE '%hippo_south%'`,
        );
        assert.deepEqual(subs, [], `${server.name}: no subscription to or from hippo-south`);
        const slots = await query<{ slot_name: string }>(
          server,
          `SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE '%hippo_south%'`,
        );
        assert.deepEqual(slots, [], `${server.name}: no slot for hippo-south`);
      }
      assert.deepEqual(
        await query(south, 'SELECT pubname FROM pg_publication'),
        [],
        'its publication is dropped',
      );
      for (const server of remaining) {
        const [kept] = await query<{ n: string }>(server, 'SELECT count(*) AS n FROM hippo_south');
        assert.equal(kept?.n, '25', `${server.name} keeps hippo-south's 25 rows`);
      }
      assert.ok(
        reports.some((r) =>
          /partition public\.hippo_south on member "hippo-east": holds rows, so it was detached/.test(r),
        ),
      );
      await query(central, SEED_INSERT);
      await converged(remaining);
      assert.equal(await counts(west), 'hippo-central=50 hippo-east=1025 hippo-west=1050');
    });
  });
});
