/**
 * The real CLI through the Automation API, on embedded servers as external members: `up` with three
 * members, a config edit adding hippo-south, `preview` shows only additions, `up`, 100 rows on every
 * member, `destroy` leaves no subscriptions or slots. Runs wherever `pulumi` is on PATH.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalWorkspace, type Stack } from '@pulumi/pulumi/automation';
import { dump, load } from 'js-yaml';
import { pulumiOnPath } from '../../scripts/pulumiCli';
import { ServerSet, TEST_PASSWORD, type TestServer, query, waitFor } from '../support/embeddedServers';

const ROOT = path.join(__dirname, '..', '..');
const SEED_INSERT = readFileSync(path.join(__dirname, '..', '..', 'sql', 'seed', 'insert.sql'), 'utf8');

async function total(server: TestServer): Promise<number> {
  const [row] = await query<{ n: string }>(server, 'SELECT count(*) AS n FROM hippos');
  return Number(row?.n);
}

describe('pulumi up, preview and destroy through the Automation API', function () {
  this.timeout(15 * 60_000);
  const stackName = `e2e-${randomBytes(3).toString('hex')}`;
  const stackFile = path.join(ROOT, `Pulumi.${stackName}.yaml`);
  let backend: string;
  let set: ServerSet | undefined;
  let stack: Stack | undefined;

  function writeMembers(servers: TestServer[]): void {
    let doc: { config?: Record<string, unknown> } = {};
    try {
      doc = load(readFileSync(stackFile, 'utf8')) as typeof doc;
    } catch {
      // first write
    }
    doc.config = {
      ...doc.config,
      'pg-federation:members': servers.map((s) => ({
        name: s.name,
        kind: 'external',
        host: '127.0.0.1',
        port: s.port,
        sslmode: 'disable',
      })),
      'pg-federation:syncTimeoutSeconds': 120,
    };
    writeFileSync(stackFile, dump(doc));
  }

  before(async function () {
    if (!pulumiOnPath()) {
      console.log(
        '    skipped: the Pulumi CLI is not on PATH, so up/preview/destroy cannot run here (install it to run this test)',
      );
      this.skip();
    }
    backend = mkdtempSync(path.join(tmpdir(), 'pg-federation-e2e-state-'));
    set = await ServerSet.start(['hippo-east', 'hippo-central', 'hippo-west', 'hippo-south']);
    writeMembers(['hippo-east', 'hippo-central', 'hippo-west'].map((n) => (set as ServerSet).get(n)));
    stack = await LocalWorkspace.createOrSelectStack(
      { stackName, workDir: ROOT },
      {
        envVars: {
          PULUMI_BACKEND_URL: `file://${backend}`,
          PULUMI_CONFIG_PASSPHRASE: randomBytes(12).toString('hex'),
          PULUMI_SKIP_UPDATE_CHECK: 'true',
        },
        secretsProvider: 'passphrase',
      },
    );
    for (const name of ['hippo-east', 'hippo-central', 'hippo-west', 'hippo-south']) {
      await stack.setConfig(`passwords["${name}"]`, { value: TEST_PASSWORD, secret: true }, true);
    }
  });

  after(async function () {
    if (stack !== undefined) {
      await stack.destroy().catch(() => undefined);
      await stack.workspace.removeStack(stackName, { force: true }).catch(() => undefined);
    }
    rmSync(stackFile, { force: true });
    if (backend !== undefined) rmSync(backend, { recursive: true, force: true });
    await set?.stopAll();
  });

  it('up with three members: 25 rows inserted on each reach every member', async function () {
    const s = stack as Stack;
    const servers = set as ServerSet;
    const result = await s.up();
    assert.equal(result.summary.result, 'succeeded');
    assert.deepEqual(Object.keys(result.outputs.members?.value ?? {}).sort(), [
      'hippo-central',
      'hippo-east',
      'hippo-west',
    ]);
    const three = ['hippo-east', 'hippo-central', 'hippo-west'].map((n) => servers.get(n));
    for (const server of three) await query(server, SEED_INSERT);
    await waitFor('75 rows on every member', async () =>
      (await Promise.all(three.map(total))).every((n) => n === 75),
    );
    const again = await s.preview();
    assert.deepEqual(
      Object.keys(again.changeSummary).filter((k) => k !== 'same'),
      [],
      'a second preview shows no change',
    );
  });

  it('adding hippo-south: preview shows only additions; up brings 100 rows to every member', async function () {
    const s = stack as Stack;
    const servers = set as ServerSet;
    const four = ['hippo-east', 'hippo-central', 'hippo-west', 'hippo-south'].map((n) => servers.get(n));
    writeMembers(four);
    const preview = await s.preview();
    const kinds = Object.keys(preview.changeSummary).filter((k) => k !== 'same');
    assert.deepEqual(kinds, ['create'], JSON.stringify(preview.changeSummary));
    const up = await s.up();
    assert.equal(up.summary.result, 'succeeded');
    await waitFor('75 rows on hippo-south', async () => (await total(servers.get('hippo-south'))) === 75);
    await query(servers.get('hippo-south'), SEED_INSERT);
    await waitFor('100 rows on every member', async () =>
      (await Promise.all(four.map(total))).every((n) => n === 100),
    );
  });

  it('destroy leaves no subscription and no replication slot on any member', async function () {
    const s = stack as Stack;
    const servers = set as ServerSet;
    const result = await s.destroy();
    assert.equal(result.summary.result, 'succeeded');
    for (const server of servers.servers.values()) {
      assert.deepEqual(
        await query(server, 'SELECT subname FROM pg_subscription'),
        [],
        `${server.name} subscriptions`,
      );
      assert.deepEqual(
        await query(server, 'SELECT slot_name FROM pg_replication_slots'),
        [],
        `${server.name} slots`,
      );
    }
  });
});
