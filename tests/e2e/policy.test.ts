/**
 * The policy pack (policy/) run by the real engine, as `pulumi preview --policy-pack policy` runs it
 * (the Automation API's `policyPacks`: the CLI starts the pack through the nodejs language host).
 * Each rule fails a stack that breaks it, with its message, and passes the stack once fixed. A new
 * stack (previews only, no server) carries the TLS and production rules; a `local` stack on two
 * embedded servers, deployed, carries the rules that need a last deployment: a member leaving
 * before any member that stays has copied it, and allowDestructiveChanges left on.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ServerSet } from '../../scripts/embedded/serverSet';
import { PROJECT_ROOT } from '../../scripts/workspace';
import { externalMember } from '../support/convergence';
import { EngineStack, changes, requireEngine } from '../support/engine';
import { must } from '../support/must';
import { TEST_PASSWORD } from '../support/secrets';

const PACK = path.join(PROJECT_ROOT, 'policy');
const PASSED = /✅ pg-federation@v0\.1\.0/;

/** A preview with the pack that the pack fails, with this policy's violation and this message. */
async function rejected(e: EngineStack, policy: string, message: string): Promise<void> {
  await assert.rejects(e.stack.preview({ policyPacks: [PACK] }), (err: Error) => {
    assert.match(err.message, new RegExp(`\\[mandatory\\] +${policy} `));
    assert.ok(err.message.includes(message), `${message}\nnot in:\n${err.message.slice(-3000)}`);
    return true;
  });
}

/** A preview with the pack (and these config files of it) that the pack passes; its changes. */
async function passed(e: EngineStack, policyPackConfigs: string[] = []): Promise<Record<string, number>> {
  const preview = await e.stack.preview({ policyPacks: [PACK], policyPackConfigs });
  assert.match(preview.stdout, PASSED);
  return changes(preview.changeSummary);
}

describe('the policy pack through the real engine', function () {
  this.timeout(10 * 60_000);
  const stacks: EngineStack[] = [];
  let set: ServerSet | undefined;

  before(async function () {
    requireEngine(this);
    // The pack is an npm project of its own: its locked dependencies first (what `npm test` does).
    const deps = spawnSync(
      process.execPath,
      [path.join(PROJECT_ROOT, 'scripts', 'ensure-deps.js'), 'policy'],
      {
        stdio: 'inherit',
      },
    );
    assert.equal(deps.status, 0, 'npm ci in policy/');
    set = await ServerSet.start(['hippo-east', 'hippo-west']);
  });
  after(async function () {
    for (const s of stacks) await s.remove();
    await set?.stopAll();
  });

  describe('a new stack "prod", previewed with no server', function () {
    let e: EngineStack;
    const member = { name: 'hippo-east', kind: 'external', host: '127.0.0.1', port: 5432 };
    before(async function () {
      e = await EngineStack.create('prod', { 'pg-federation:members': [{ ...member, sslmode: 'disable' }] });
      stacks.push(e);
      await e.setSecret('passwords["hippo-east"]', 'not-used-by-a-preview');
    });

    it('fails while a member does not verify certificates, and passes with verify-ca', async function () {
      await rejected(
        e,
        'tls-verifies-certificates',
        'member "hippo-east": sslmode is "disable", replicationSslmode is "disable"; on stack "prod" ' +
          "Pulumi's connections and the subscriptions must check the server's certificate (only the " +
          '"local" stack may go without): set pg-federation:members[0].sslmode and ' +
          'pg-federation:members[0].replicationSslmode to verify-ca or verify-full',
      );
      await e.setConfig({ 'pg-federation:members': [{ ...member, sslmode: 'verify-ca' }] });
      assert.deepEqual(Object.keys(await passed(e)), ['create']);
    });

    it('tagged environment=production, fails with retainClusters false; passes without it, or with another tag configured as the marker', async function () {
      await e.stack.setTag('environment', 'production');
      await e.editConfig({ 'pg-federation:retainClusters': false });
      await rejected(
        e,
        'retain-clusters-in-production',
        'stack "prod" is marked production (stack tag environment=production) and ' +
          'pg-federation:retainClusters is false: removing a member would delete its PostgresCluster',
      );
      // The marker is the pack's config: with another tag named, this stack is not production.
      const config = path.join(e.dir, 'policy-config.json');
      writeFileSync(
        config,
        JSON.stringify({ 'retain-clusters-in-production': { tag: 'tier', values: ['prod'] } }),
      );
      await passed(e, [config]);
      await e.editConfig({ 'pg-federation:retainClusters': true });
      await passed(e);
    });
  });

  describe('a deployed stack "local" on two embedded servers', function () {
    let e: EngineStack;
    const members = (...names: string[]) => ({
      'pg-federation:members': names.map((n) => externalMember(must(set, 'the servers').get(n))),
      'pg-federation:syncTimeoutSeconds': 120,
    });
    before(async function () {
      e = await EngineStack.create('local', members('hippo-east'));
      stacks.push(e);
      for (const name of ['hippo-east', 'hippo-west'])
        await e.setSecret(`passwords["${name}"]`, TEST_PASSWORD);
      assert.equal((await e.stack.up()).summary.result, 'succeeded');
    });

    it('fails a member leaving before any member that stays has copied it; passes once one has', async function () {
      await e.setConfig(members('hippo-west'));
      await rejected(
        e,
        'no-removal-of-the-only-copy',
        'member "hippo-east" leaves the federation while it is the only holder of its rows of hippos: ' +
          'no member that stays has a copy of its partition',
      );
      await e.setConfig(members('hippo-east', 'hippo-west'));
      assert.equal((await e.stack.up()).summary.result, 'succeeded');
      await e.setConfig(members('hippo-west'));
      assert.ok((await passed(e)).delete !== undefined);
    });

    it('records its view, with no secret, as the Federation component output the rules read', async function () {
      const state = JSON.parse(await e.exportText(true)) as {
        deployment: { resources: Array<{ type: string; outputs?: { policy?: Record<string, unknown> } }> };
      };
      const federation = state.deployment.resources.find((r) => r.type === 'pg-federation:index:Federation');
      const view = federation?.outputs?.policy;
      // That up's own read: its last deployment (hippo-east alone) had no member config lacks.
      assert.equal(view?.lastDeployment, 'no member left');
      assert.deepEqual(view?.departures, []);
      assert.deepEqual(
        (view?.members as Array<{ name: string }>).map((m) => m.name),
        ['hippo-east', 'hippo-west'],
      );
      assert.ok(!JSON.stringify(view).includes(TEST_PASSWORD));
    });

    it('fails allowDestructiveChanges left on with nothing to remove; passes while a change removes a column', async function () {
      await e.setConfig({
        ...members('hippo-east', 'hippo-west'),
        'pg-federation:allowDestructiveChanges': true,
      });
      await rejected(
        e,
        'no-stale-allow-destructive-changes',
        'pg-federation:allowDestructiveChanges is true, but no table change in this run removes anything: ' +
          'the change it was for is done; set it back (pulumi config rm pg-federation:allowDestructiveChanges)',
      );
      await e.editConfig({
        'pg-federation:tables': [
          {
            name: 'hippos',
            columns: [
              { name: 'id', type: 'uuid', notNull: true, defaultExpression: 'gen_random_uuid()' },
              { name: 'node_name', type: 'text' },
              { name: 'value', type: 'datemultirange' },
            ],
            primaryKey: ['id'],
            partitionTemplate: '{member}',
            defaultPartition: 'hippo_default',
          },
        ],
      });
      assert.deepEqual(await passed(e), { update: 2 });
    });
  });
});
