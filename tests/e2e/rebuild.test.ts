/**
 * A member whose disk is lost, rebuilt from its peers' copies through the real engine: its server is
 * replaced by an empty one at the same endpoint and `pulumi up --refresh` finds everything of it gone,
 * makes it again, restores its own partition from the most advanced peer copy (saying which, with
 * every peer's count), re-creates every slot and subscription, and the federation converges with
 * every id and value as before the loss. A major upgrade takes the same path: hippo-central moves
 * from PostgreSQL 16 to a new PostgreSQL 18 server at its endpoint while the others keep writing.
 * Or a config edit moves a member to a new server at another endpoint (its port and a new
 * serverGeneration): hippo-east from 16 to 18; the same edit without the generation is refused.
 */
import { strict as assert } from 'node:assert';
import { SEED_INSERT, converge as convergeOn, countRows, rowsText } from '../support/convergence';
import { ServerSet, type TestServer, query, waitFor } from '../../scripts/embedded/serverSet';
import { TEST_PASSWORD } from '../support/secrets';
import { EngineStack, changes, requireEngine } from '../support/engine';

const NAMES = ['hippo-east', 'hippo-central', 'hippo-west'];

describe('a member rebuilt from its peers after its disk is lost, through the real engine', function () {
  this.timeout(10 * 60_000);
  let set: ServerSet;
  let e: EngineStack;
  /** The test server a member runs on, when it moved off the one named after it. */
  const at = new Map<string, string>();
  const server = (member: string) => set.get(at.get(member) ?? member);
  const servers = () => NAMES.map(server);
  const count = (s: TestServer) => countRows(s);
  const rows = (s: TestServer) => rowsText(s);
  const converge = (n: number) => convergeOn(servers(), n);
  const generations: Record<string, number> = {};
  const members = (ports: Record<string, number> = {}) =>
    NAMES.map((name) => ({
      name,
      kind: 'external',
      host: '127.0.0.1',
      port: ports[name] ?? server(name).port,
      sslmode: 'disable',
      ...(generations[name] !== undefined ? { serverGeneration: generations[name] } : {}),
    }));

  before(async function () {
    requireEngine(this);
    set = await ServerSet.start([]);
    for (const name of NAMES) await set.add(name, name === 'hippo-west' ? {} : { major: 16 });
    e = await EngineStack.create('rebuild', {
      'pg-federation:syncTimeoutSeconds': 120,
      'pg-federation:members': members(),
    });
    for (const n of NAMES) await e.setSecret(`passwords["${n}"]`, TEST_PASSWORD);
    await e.stack.up();
    for (const s of servers()) await query(s, SEED_INSERT);
    await converge(75);
  });
  after(async function () {
    await e?.stack.destroy().catch(() => undefined);
    await e?.remove();
    await set?.stopAll();
  });

  it('restores the lost member from the most advanced copy, re-creates every slot and subscription, and loses nothing any peer had', async function () {
    const west = set.get('hippo-west');
    // hippo-central stops receiving hippo-west's rows; hippo-east still does: its copy is ahead.
    await query(set.get('hippo-central'), 'ALTER SUBSCRIPTION sub_hippo_central_hippo_west DISABLE');
    await query(west, SEED_INSERT.replace('generate_series(1,25)', 'generate_series(1,3)'));
    await waitFor('hippo-east has the 3 new rows', async () => (await count(set.get('hippo-east'))) === 78);
    const before = await rows(set.get('hippo-east'));

    await west.wipe(); // the disk is gone; an empty server at the same endpoint
    assert.equal((await query(west, "SELECT to_regclass('hippos') AS t"))[0]?.t, null);

    const output: string[] = [];
    const up = await e.stack.up({ refresh: true, onOutput: (o) => output.push(o) });
    assert.equal(up.summary.result, 'succeeded');
    const text = output.join('');
    assert.match(
      text,
      /restored 28 rows of public\.hippo_west on "hippo-west" from the copy on "hippo-east", the most advanced \(hippo-east 28, hippo-central 25\)/,
    );
    assert.match(text, /rows "hippo-west" wrote that no peer had received are lost with its disk/);
    // Every member, the rebuilt one and hippo-central (resynced from it), holds every row as before.
    for (const s of servers())
      assert.equal(await rows(s), before, `${s.name} holds every row as before the loss`);
    // And replication flows again both ways.
    await query(west, SEED_INSERT);
    await query(set.get('hippo-central'), SEED_INSERT);
    await converge(128);
    assert.deepEqual(changes((await e.stack.preview()).changeSummary), {});
    for (const s of servers()) {
      const slots = await query<{ n: number }>(s, 'SELECT count(*)::int AS n FROM pg_replication_slots');
      assert.deepEqual(slots, [{ n: 2 }], `${s.name} serves its two subscribers, no more`);
    }
  });

  it('upgrades hippo-central from 16 to 18 by rebuilding it on a new server at its endpoint, while the others write', async function () {
    const central = set.get('hippo-central');
    const version = async () =>
      Number(
        (await query<{ v: string }>(central, "SELECT current_setting('server_version_num') AS v"))[0]?.v,
      );
    assert.ok((await version()) < 170000);
    // The documented procedure: stop writing on the member, let its peers catch up, swap the server.
    await waitFor('every copy caught up', async () => {
      const lag = await query<{ behind: boolean }>(
        central,
        "SELECT bool_or(confirmed_flush_lsn < pg_current_wal_lsn()) AS behind FROM pg_replication_slots WHERE slot_type = 'logical'",
      );
      return lag[0]?.behind === false;
    });
    await central.wipe(18);
    assert.ok((await version()) >= 180000);
    await query(set.get('hippo-east'), SEED_INSERT); // the others keep writing
    const up = await e.stack.up({ refresh: true });
    assert.equal(up.summary.result, 'succeeded');
    await query(set.get('hippo-west'), SEED_INSERT);
    await converge(178);
    const all = await Promise.all(servers().map(rows));
    for (const text of all) assert.equal(text, all[0], 'identical on every member');
    const own = await query<{ n: number }>(central, 'SELECT count(*)::int AS n FROM hippo_central');
    assert.deepEqual(
      own,
      [{ n: 50 }],
      "its own partition is intact: the seed's 25 and the 25 written before",
    );
    assert.deepEqual(changes((await e.stack.preview()).changeSummary), {});
  });

  it('refuses a member pointed at another server by a port edit, before anything changes anywhere', async function () {
    const central = set.get('hippo-central');
    const elsewhere = await set.add('hippo-elsewhere');
    const slotsBefore = await query(central, 'SELECT slot_name FROM pg_replication_slots ORDER BY 1');
    await e.editConfig({ 'pg-federation:members': members({ 'hippo-central': elsewhere.port }) });
    const output: string[] = [];
    await assert.rejects(e.stack.up({ onOutput: (o) => output.push(o) }));
    assert.match(
      output.join(''),
      new RegExp(
        `member "hippo-central": its endpoint changed from 127\\.0\\.0\\.1:${central.port}/postgres to ` +
          `127\\.0\\.0\\.1:${elsewhere.port}/postgres, which is another server`,
      ),
    );
    // Nothing reached the other server, and the federation runs on as it was.
    assert.equal((await query(elsewhere, "SELECT to_regclass('hippos') AS t"))[0]?.t, null);
    assert.deepEqual(
      await query(central, 'SELECT slot_name FROM pg_replication_slots ORDER BY 1'),
      slotsBefore,
    );
    await query(central, SEED_INSERT);
    await converge(203);
    await e.editConfig({ 'pg-federation:members': members() });
    assert.deepEqual(changes((await e.stack.preview()).changeSummary), {});
  });

  it('moves hippo-east from PostgreSQL 16 to a new 18 server by a config edit (port and serverGeneration), while the others write', async function () {
    const old = set.get('hippo-east');
    const target = set.get('hippo-elsewhere'); // empty, on 18
    const major = async (s: TestServer) =>
      Number((await query<{ v: string }>(s, "SELECT current_setting('server_version_num') AS v"))[0]?.v);
    assert.ok((await major(old)) < 170000 && (await major(target)) >= 180000);
    // The documented procedure: stop writing on the member, let its peers catch up, then edit.
    await waitFor('every copy of hippo-east caught up', async () => {
      const lag = await query<{ behind: boolean }>(
        old,
        "SELECT bool_or(confirmed_flush_lsn < pg_current_wal_lsn()) AS behind FROM pg_replication_slots WHERE slot_type = 'logical'",
      );
      return lag[0]?.behind === false;
    });
    const own = async (s: TestServer) =>
      (await query<{ n: number }>(s, 'SELECT count(*)::int AS n FROM hippo_east'))[0]?.n;
    const ownBefore = await own(old);
    const total = await count(old);

    generations['hippo-east'] = 2;
    await e.editConfig({ 'pg-federation:members': members({ 'hippo-east': target.port }) });
    const preview = changes((await e.stack.preview()).changeSummary);
    assert.equal(preview.create ?? 0, 0);
    assert.equal(preview.delete ?? 0, 0);
    assert.equal(
      preview.replace,
      15,
      "everything on hippo-east's server (preflight, slot limits, provider, function, role, table, its partition, " +
        'two landings, publication, grant, two subscriptions) and the two subscriptions to it',
    );

    const output: string[] = [];
    const [up] = await Promise.all([
      e.stack.up({ onOutput: (o) => output.push(o) }),
      query(set.get('hippo-west'), SEED_INSERT), // the others keep writing
    ]);
    at.set('hippo-east', 'hippo-elsewhere');
    assert.equal(up.summary.result, 'succeeded');
    assert.match(
      output.join(''),
      /restored \d+ rows of public\.hippo_east on "hippo-east" from the copy on "hippo-(central|west)"/,
    );
    assert.equal(await own(target), ownBefore, 'its own partition, restored from the peers');
    await query(target, SEED_INSERT); // and it writes on its new server
    await converge(total + 50);
    const all = await Promise.all(servers().map(rows));
    for (const text of all) assert.equal(text, all[0], 'identical on every member');
    assert.equal(await own(target), (ownBefore ?? 0) + 25);
    // Nothing of the federation is left on the old server: no slot, subscription, publication or role.
    assert.deepEqual(
      await query(
        old,
        `SELECT (SELECT count(*)::int FROM pg_replication_slots) AS slots, (SELECT count(*)::int FROM pg_subscription) AS subs,
                (SELECT count(*)::int FROM pg_publication) AS pubs,
                (SELECT count(*)::int FROM pg_roles WHERE rolname = 'federation_replicator') AS roles`,
      ),
      [{ slots: 0, subs: 0, pubs: 0, roles: 0 }],
    );
    for (const s of servers()) {
      const slots = await query<{ n: number }>(s, 'SELECT count(*)::int AS n FROM pg_replication_slots');
      assert.deepEqual(slots, [{ n: 2 }], `${s.name} serves its two subscribers, no more`);
    }
    assert.deepEqual(changes((await e.stack.preview()).changeSummary), {});
  });
});
