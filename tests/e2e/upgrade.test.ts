/**
 * Stacks made by earlier releases, then run by this version: the first preview replaces nothing
 * (resources that got new names keep their URNs through aliases; what changes is in place), and
 * hippo-south then joins as on any stack. Two releases: the one before `tables` existed (0bb16a9),
 * and the one before the plan decided every resource's inputs (6e80698), with two tables, defaults
 * and indexes. The older program is checked out from this repository's history into a temporary
 * worktree that shares this checkout's node_modules.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PLAIN_KEY } from '../../components/providers/envelope';
import { isProviderReference } from '../../components/providers/reference';
import { PROJECT_ROOT } from '../../scripts/workspace';
import { SEED_INSERT } from '../support/convergence';
import { MAJOR, ServerSet, type TestServer, query, waitFor } from '../../scripts/embedded/serverSet';
import { TEST_PASSWORD } from '../support/secrets';
import { EngineStack, changes, requireEngine } from '../support/engine';

/** The last release before tables, plans and kinds. */
const BEFORE_TABLES = '0bb16a9';
/** The last release before the plan decided every resource's inputs (one layer per concept). */
const BEFORE_RECORDS = '6e80698';
/** The last release before the plain inputs travelled in one property (envelope.ts): by reference. */
const BEFORE_ENVELOPE = 'd618cbc';

/** Two tables with defaults, an index and a unique index: what 6e80698 declared by config. */
const TABLES = [
  {
    name: 'hippos',
    columns: [
      { name: 'id', type: 'uuid', notNull: true, defaultExpression: 'gen_random_uuid()' },
      { name: 'node_name', type: 'text' },
      { name: 'value', type: 'datemultirange' },
      { name: 'created_at', type: 'timestamptz' },
      { name: 'weight', type: 'numeric(8,2)', default: 1 },
    ],
    primaryKey: ['id'],
    partitionTemplate: '{member}',
    defaultPartition: 'hippo_default',
    indexes: [{ columns: ['weight'] }],
  },
  {
    name: 'orders',
    columns: [
      { name: 'region', type: 'text', notNull: true },
      { name: 'order_id', type: 'bigint', notNull: true },
      { name: 'note', type: 'text', default: "it's" },
    ],
    primaryKey: ['region', 'order_id'],
    indexes: [{ columns: ['order_id', 'node_name'], unique: true }],
  },
];

for (const release of [
  // hippo-south's creates: 23 with the seed's one table, 9 more for the second table (its table,
  // its own partition and grant, 3 landings on it and one on each of the 3 others).
  { commit: BEFORE_TABLES, extra: {} as Record<string, unknown>, byValue: true, southCreates: 23 },
  {
    commit: BEFORE_RECORDS,
    extra: { 'pg-federation:tables': TABLES } as Record<string, unknown>,
    byValue: true,
    southCreates: 32,
  },
  // Providers by reference already: nothing to migrate, and the envelope changes nothing recorded.
  // (Its hippo-south join is the same as on any stack of this release: not run again.)
  {
    commit: BEFORE_ENVELOPE,
    extra: { 'pg-federation:tables': TABLES } as Record<string, unknown>,
    byValue: false,
    southCreates: undefined,
  },
]) {
  const PREVIOUS_RELEASE = release.commit;

  function git(args: string[]) {
    return spawnSync('git', ['-C', PROJECT_ROOT, ...args], { encoding: 'utf8' });
  }

  describe(`a stack made by the previous release (${PREVIOUS_RELEASE}), run by this one`, function () {
    this.timeout(10 * 60_000);
    let set: ServerSet;
    let e: EngineStack;
    let worktree: string;
    const members = (names: string[]) => ({
      'pg-federation:members': names.map((n) => ({
        name: n,
        kind: 'external',
        host: '127.0.0.1',
        port: set.get(n).port,
        sslmode: 'disable',
      })),
      ...release.extra,
    });

    before(async function () {
      requireEngine(this);
      if (git(['cat-file', '-e', `${PREVIOUS_RELEASE}^{commit}`]).status !== 0) {
        throw new Error(
          `commit ${PREVIOUS_RELEASE} is not in this clone's history (a shallow clone?): run git fetch --unshallow`,
        );
      }
      worktree = path.join(mkdtempSync(path.join(tmpdir(), 'pg-federation-previous-')), 'checkout');
      const added = git(['worktree', 'add', '--detach', worktree, PREVIOUS_RELEASE]);
      assert.equal(added.status, 0, added.stderr);
      // Never `npm ci` in the worktree: it would empty the shared folder.
      symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(worktree, 'node_modules'));
      set = await ServerSet.start(['hippo-east', 'hippo-central', 'hippo-west', 'hippo-south']);
      e = await EngineStack.create(
        `upgrade-${PREVIOUS_RELEASE}`,
        members(['hippo-east', 'hippo-central', 'hippo-west']),
      );
      await e.useProgram(worktree);
      for (const n of set.servers.keys()) await e.setSecret(`passwords["${n}"]`, TEST_PASSWORD);
    });
    after(async function () {
      await e?.stack.destroy().catch(() => undefined);
      await e?.remove();
      await set?.stopAll();
      if (worktree !== undefined) {
        git(['worktree', 'remove', '--force', worktree]);
        rmSync(path.dirname(worktree), { recursive: true, force: true });
      }
    });

    it('the previous release deploys the seed', async function () {
      const up = await e.stack.up();
      assert.equal(up.summary.result, 'succeeded');
      for (const n of ['hippo-east', 'hippo-central', 'hippo-west']) await query(set.get(n), SEED_INSERT);
    });

    it(`this release previews only what it adds (${release.byValue ? "each server's WAL budget; each subscription's failover slot and synchronous_commit, in place; every dynamic resource's provider by reference" : 'nothing'}), and its up re-copies nothing`, async function () {
      // Every dynamic resource of an old state (before 2026-12-02) carries its provider serialized by
      // value: each one updates once, in place, to carry a reference instead (reference.ts).
      const dynamicOf = async () =>
        (
          JSON.parse(await e.exportText()) as {
            deployment: {
              resources: Array<{
                type: string;
                inputs?: Record<string, unknown>;
                outputs?: { __provider?: string };
              }>;
            };
          }
        ).deployment.resources.filter((r) => r.type.startsWith('pulumi-nodejs:dynamic'));
      const byValue = await dynamicOf();
      assert.ok(byValue.every((r) => isProviderReference(r.outputs?.__provider) !== release.byValue));
      await e.useProgram();
      const identities = async () =>
        Promise.all(
          ['hippo-east', 'hippo-central', 'hippo-west'].map(async (n) =>
            JSON.stringify(
              await query(set.get(n), `SELECT id, ctid::text, xmin::text FROM hippos ORDER BY id`),
            ),
          ),
        );
      const before = await identities();
      // The 3 creates: each server's WAL budget (SlotLimits). The updates: every dynamic resource,
      // the 6 subscriptions among them (failover slot, synchronous_commit) changing for real.
      const expected = release.byValue ? { create: 3, update: byValue.length } : {};
      const preview = await e.stack.preview();
      assert.deepEqual(changes(preview.changeSummary), expected, JSON.stringify(preview.changeSummary));
      const up = await e.stack.up();
      assert.deepEqual(changes(up.summary.resourceChanges), expected);
      assert.deepEqual(changes((await e.stack.preview()).changeSummary), {});
      const migrated = await dynamicOf();
      assert.equal(migrated.length, byValue.length + (release.byValue ? 3 : 0));
      const encrypted = (v: unknown) => typeof v === 'object' && v !== null && 'ciphertext' in v;
      for (const r of migrated) {
        assert.ok(isProviderReference(r.outputs?.__provider), `${r.type}: provider by reference`);
        assert.ok((r.outputs?.__provider?.length ?? 0) <= 4096);
        // The inputs as check records them: flat, each connection's password encrypted.
        assert.equal(r.inputs?.[PLAIN_KEY], undefined, `${r.type}: no envelope recorded`);
        const connection = r.inputs?.connection as Record<string, unknown> | undefined;
        assert.ok(
          encrypted(connection) || encrypted(connection?.password),
          `${r.type}: its password encrypted`,
        );
      }
      assert.deepEqual(
        await identities(),
        before,
        'every row on every member the same tuple: nothing re-copied',
      );
      for (const n of ['hippo-east', 'hippo-central', 'hippo-west']) {
        const subs = await query<{ sync: string; failover: boolean }>(
          set.get(n),
          `SELECT subsynccommit AS sync, ${MAJOR >= 17 ? 'subfailover' : 'false'} AS failover FROM pg_subscription`,
        );
        assert.deepEqual(subs, Array(2).fill({ sync: 'on', failover: MAJOR >= 17 }), n);
      }
      // That up recorded each member's server generation on what lives on its server, so a later
      // move (a new serverGeneration) replaces them: the preflights, providers and subscriptions say so.
      const state = JSON.parse(await e.exportText()) as {
        deployment: { resources: Array<{ type: string; replacementTrigger?: unknown }> };
      };
      const triggers = (type: string) =>
        state.deployment.resources.filter((r) => r.type.endsWith(type)).map((r) => r.replacementTrigger);
      assert.deepEqual(triggers(':ServerCheck'), [1, 1, 1]);
      assert.deepEqual(triggers('pulumi:providers:postgresql'), [1, 1, 1]);
      assert.deepEqual(triggers(':Subscription'), Array(6).fill('1:1'));
    });

    const southCreates = release.southCreates;
    if (southCreates !== undefined) {
      it('hippo-south then joins by config: only creates, and 100 rows everywhere', async function () {
        await e.editConfig(members(['hippo-east', 'hippo-central', 'hippo-west', 'hippo-south']));
        assert.deepEqual(changes((await e.stack.preview()).changeSummary), { create: southCreates });
        await e.stack.up();
        await query(set.get('hippo-south'), SEED_INSERT);
        const count = async (s: TestServer) =>
          Number((await query<{ n: string }>(s, 'SELECT count(*) AS n FROM hippos'))[0]?.n);
        await waitFor('100 rows on every member', async () =>
          (await Promise.all([...set.servers.values()].map(count))).every((n) => n === 100),
        );
      });
    }
  });
}
