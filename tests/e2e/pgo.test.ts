/**
 * The seed's own path: PGO members (PostgresClusters) through the real engine, on a real Kubernetes
 * API server with the real PGO CRD, with PGO's part played by tests/support/pgoStandIn.ts and each
 * cluster's primary by an embedded PostgreSQL server (members' host/port point at it; no TLS here).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { SEED_INSERT, converge, countRows, pgoMember } from '../support/convergence';
import { ServerSet, query } from '../../scripts/embedded/serverSet';
import { GENERATED_SECRETS } from '../support/secrets';
import type { EngineEvent } from '@pulumi/pulumi/automation';
import { scramSha256Verifier } from '../../components/scram';
import { EngineStack, changes, plaintext, requireEngine, requireTool } from '../support/engine';
import { must } from '../support/must';
import { KubeApiServer, type KubeObject, kubeUnavailable, writeKubeconfig } from '../support/kube';
import { PgoStandIn } from '../support/pgoStandIn';

const GROUP = '/apis/postgres-operator.crunchydata.com/v1beta1';

describe('PGO members on a real Kubernetes API server (PGO played by a stand-in)', function () {
  this.timeout(15 * 60_000);
  const NAMES = ['hippo-east', 'hippo-central', 'hippo-west', 'hippo-south'];
  let set: ServerSet;
  let api: KubeApiServer;
  let pgo: PgoStandIn;
  let e: EngineStack;
  let dir = '';
  const servers = (names: string[]) => names.map((n) => set.get(n));
  let rotation: Record<string, string> = {};
  const config = (names: string[]) => ({
    'pg-federation:monitoring': false,
    'pg-federation:syncTimeoutSeconds': 120,
    'pg-federation:members': servers(names).map((s) =>
      pgoMember(s, rotation[s.name] !== undefined ? { passwordRotation: rotation[s.name] } : {}),
    ),
  });
  /** Test clients log in as `postgres` with the password Pulumi generated (and PGO applied). */
  async function learnPasswords(): Promise<void> {
    for (const [name, conn] of Object.entries(await e.connections())) {
      GENERATED_SECRETS.add(conn.password);
      set.get(name).connection.password = conn.password;
    }
  }

  before(async function () {
    dir = mkdtempSync(path.join(tmpdir(), 'pg-federation-pgo-'));
    requireEngine(this);
    const why = kubeUnavailable();
    requireTool(this, why === undefined, why ?? '');
    set = await ServerSet.start(NAMES);
    api = await KubeApiServer.start('pgo');
    const kubeconfig = path.join(dir, 'kubeconfig');
    writeKubeconfig(kubeconfig, [api]);
    pgo = new PgoStandIn(api, ['postgres-operator'], new Map(NAMES.map((n) => [n, set.get(n)])));
    await pgo.start();
    e = await EngineStack.create('pgo', config(NAMES.slice(0, 3)), { KUBECONFIG: kubeconfig });
  });
  after(async function () {
    await e?.remove();
    await pgo?.stop();
    await api?.stop();
    await set?.stopAll();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it("up creates the seed's three PostgresClusters, their Secrets patched first; the verifier we compute is the password PostgreSQL takes", async function () {
    const events: EngineEvent[] = [];
    const up = await e.stack.up({ onEvent: (event) => events.push(event) });
    assert.equal(up.summary.result, 'succeeded', pgo.lastError);
    assert.deepEqual(Object.keys(changes(up.summary.resourceChanges)), ['create']);
    // The engine finished each Secret patch before it began its cluster.
    const at = (kind: 'resOutputsEvent' | 'resourcePreEvent', suffix: string) =>
      events.findIndex((ev) => ev[kind]?.metadata.urn.endsWith(suffix) === true);
    for (const n of NAMES.slice(0, 3)) {
      const patched = at('resOutputsEvent', `kubernetes:core/v1:SecretPatch::${n}-pguser-postgres`);
      const cluster = at('resourcePreEvent', `PostgresCluster::${n}`);
      assert.ok(
        patched >= 0 && cluster >= 0 && patched < cluster,
        `${n}: patch ${patched}, cluster ${cluster}`,
      );
      // So PGO first saw the cluster with our password and verifier: it never had to make its own.
      assert.deepEqual(pgo.firstSight.get(n), { password: 'secret', verifier: 'secret' }, n);
    }
    const cluster = await api.get<KubeObject & { spec: Record<string, unknown> }>(
      `${GROUP}/namespaces/postgres-operator/postgresclusters/hippo-east`,
    );
    assert.equal(cluster?.spec.postgresVersion, 14);
    assert.deepEqual(cluster?.spec.users, [{ name: 'postgres' }]);
    const secret = await api.get<
      KubeObject & { data: Record<string, string>; metadata: { managedFields: Array<{ manager: string }> } }
    >('/api/v1/namespaces/postgres-operator/secrets/hippo-east-pguser-postgres');
    assert.equal(secret?.metadata.labels?.['postgres-operator.crunchydata.com/pguser'], 'postgres');
    assert.match(Buffer.from(secret?.data.verifier ?? '', 'base64').toString(), /^SCRAM-SHA-256\$4096:/);
    assert.equal(
      Buffer.from(secret?.data.host ?? '', 'base64').toString(),
      'hippo-east-primary.postgres-operator.svc',
      'PGO wrote its keys too',
    );
    const managers = secret?.metadata.managedFields.map((f) => f.manager) ?? [];
    assert.ok(managers.includes('postgrescluster-controller'), managers.join(', '));
    // The Secret's verifier is the one our code computes from the generated password and salt, and
    // it is what the server stores for postgres.
    const password = await e.generatedPassword('hippo-east-postgres-password');
    const salt = plaintext(
      (
        JSON.parse(await e.exportText(true)) as {
          deployment: { resources: Array<{ urn: string; outputs?: { base64?: unknown } }> };
        }
      ).deployment.resources.find((r) => r.urn.endsWith('RandomBytes::hippo-east-scram-salt'))?.outputs
        ?.base64,
    );
    const ours = scramSha256Verifier(password, must(salt, 'the SCRAM salt'));
    assert.equal(Buffer.from(secret?.data.verifier ?? '', 'base64').toString(), ours);
    // The password Pulumi generated logs in: PostgreSQL holds the verifier our code computed from it.
    await learnPasswords();
    const [stored] = await query<{ v: string }>(
      set.get('hippo-east'),
      "SELECT rolpassword AS v FROM pg_authid WHERE rolname = 'postgres'",
    );
    assert.equal(stored?.v, ours, 'the server stores the verifier our code computed');
    const three = servers(NAMES.slice(0, 3));
    for (const s of three) await query(s, SEED_INSERT);
    await converge(three, 75);
  });

  it('a second preview shows no changes', async function () {
    assert.deepEqual(changes((await e.stack.preview()).changeSummary), {});
  });

  it("hippo-south by config: preview shows its creates and, on 14, each cluster's new permanent slot in place; up brings it to 100 rows", async function () {
    await e.setConfig(config(NAMES));
    const events: EngineEvent[] = [];
    const preview = await e.stack.preview({ onEvent: (event) => events.push(event) });
    assert.deepEqual(
      Object.keys(changes(preview.changeSummary)).sort(),
      ['create', 'update'],
      JSON.stringify(preview.changeSummary),
    );
    // (The engine also re-configures its dynamic-provider host, whose inputs are the stack config:
    // no resource of ours, and not in the summary.)
    assert.equal(preview.changeSummary.update, 3);
    const updated = events.flatMap((ev) =>
      ev.resourcePreEvent?.metadata.op === 'update' &&
      !ev.resourcePreEvent.metadata.type.startsWith('pulumi:providers:')
        ? [
            `${ev.resourcePreEvent.metadata.type}::${ev.resourcePreEvent.metadata.urn.split('::').pop() ?? ''}`,
          ]
        : [],
    );
    assert.deepEqual(
      updated.sort(),
      NAMES.slice(0, 3)
        .map((n) => `kubernetes:postgres-operator.crunchydata.com/v1beta1:PostgresCluster::${n}`)
        .sort(),
      'only the clusters, for their new permanent slot',
    );
    const up = await e.stack.up();
    assert.deepEqual(Object.keys(changes(up.summary.resourceChanges)).sort(), ['create', 'update']);
    await learnPasswords();
    assert.equal(await countRows(set.get('hippo-south')), 75);
    await query(set.get('hippo-south'), SEED_INSERT);
    await converge(servers(NAMES), 100);
    assert.deepEqual(changes((await e.stack.preview()).changeSummary), {});
  });

  it("a password rotation by config changes the Secret and the server's password, never the cluster", async function () {
    const before = (await e.connections())['hippo-east']?.password;
    const uid = (await api.get(`${GROUP}/namespaces/postgres-operator/postgresclusters/hippo-east`))?.metadata
      .uid;
    rotation = { 'hippo-east': '2' };
    await e.setConfig(config(NAMES));
    const preview = await e.stack.preview();
    const replaced = (preview.changeSummary as Record<string, number>).replace ?? 0;
    assert.equal(
      replaced,
      1,
      `only the generated password is replaced: ${JSON.stringify(preview.changeSummary)}`,
    );
    await e.stack.up();
    const after = (await e.connections())['hippo-east']?.password;
    assert.notEqual(after, before);
    assert.equal(
      (await api.get(`${GROUP}/namespaces/postgres-operator/postgresclusters/hippo-east`))?.metadata.uid,
      uid,
      'the same cluster',
    );
    await learnPasswords();
    await query(set.get('hippo-east'), SEED_INSERT);
    await converge(servers(NAMES), 125);
  });

  it('hippo-south removed: its PostgresCluster stays (retainClusters), no slot of it is left anywhere', async function () {
    await e.setConfig(config(NAMES.slice(0, 3)));
    await e.stack.up();
    assert.ok(
      await api.get(`${GROUP}/namespaces/postgres-operator/postgresclusters/hippo-south`),
      'still in Kubernetes',
    );
    for (const s of servers(NAMES)) {
      const slots = await query<{ slot_name: string }>(s, 'SELECT slot_name FROM pg_replication_slots');
      assert.deepEqual(
        slots.filter((r) => r.slot_name.includes('hippo_south')),
        [],
        s.name,
      );
    }
    // Its 25 rows left the table with their partition, kept detached as table hippo_south.
    await query(set.get('hippo-west'), SEED_INSERT);
    await converge(servers(NAMES.slice(0, 3)), 125);
    assert.deepEqual(await query(set.get('hippo-east'), 'SELECT count(*)::int AS n FROM hippo_south'), [
      { n: 25 },
    ]);
  });

  it('destroy drops every subscription and slot, and leaves the clusters in Kubernetes as documented', async function () {
    await e.stack.destroy();
    for (const s of servers(NAMES)) {
      assert.deepEqual(await query(s, 'SELECT slot_name FROM pg_replication_slots'), [], s.name);
      assert.deepEqual(await query(s, 'SELECT subname FROM pg_subscription'), [], s.name);
    }
    const left = await api.get<{ items: KubeObject[] }>(
      `${GROUP}/namespaces/postgres-operator/postgresclusters`,
    );
    assert.deepEqual(left?.items.map((c) => c.metadata.name).sort(), [...NAMES].sort());
  });
});
