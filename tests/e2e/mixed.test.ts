/**
 * Mixed federations through the real engine: PGO members in two Kubernetes clusters (two API
 * servers, two kubeconfig contexts, each with PGO played by a stand-in) and an external member, in
 * one stack; the seed's rows converge on all three.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { SEED_INSERT, externalMember, pgoMember } from '../support/convergence';
import { ServerSet, type TestServer, query, waitFor } from '../../scripts/embedded/serverSet';
import { GENERATED_SECRETS, TEST_PASSWORD } from '../support/secrets';
import { EngineStack, requireEngine, requireTool } from '../support/engine';
import { KubeApiServer, kubeUnavailable, writeKubeconfig } from '../support/kube';
import { PgoStandIn } from '../support/pgoStandIn';

const GROUP = '/apis/postgres-operator.crunchydata.com/v1beta1';

describe('a PGO member in each of two Kubernetes clusters and an external member, in one stack', function () {
  this.timeout(10 * 60_000);
  let set: ServerSet;
  let apis: KubeApiServer[] = [];
  let standIns: PgoStandIn[] = [];
  let e: EngineStack;
  let dir = '';

  before(async function () {
    dir = mkdtempSync(path.join(tmpdir(), 'pg-federation-mixed-'));
    requireEngine(this);
    const why = kubeUnavailable();
    requireTool(this, why === undefined, why ?? '');
    set = await ServerSet.start(['hippo-east', 'hippo-west', 'laptop']);
    apis = [await KubeApiServer.start('kube-a'), await KubeApiServer.start('kube-b', ['west'])];
    const [a, b] = apis as [KubeApiServer, KubeApiServer];
    standIns = [
      new PgoStandIn(a, ['postgres-operator'], new Map([['hippo-east', set.get('hippo-east')]])),
      new PgoStandIn(b, ['west'], new Map([['hippo-west', set.get('hippo-west')]])),
    ];
    for (const s of standIns) await s.start();
    const kubeconfig = path.join(dir, 'kubeconfig');
    writeKubeconfig(kubeconfig, apis);
    e = await EngineStack.create(
      'mixed',
      {
        'pg-federation:monitoring': false,
        'pg-federation:members': [
          pgoMember(set.get('hippo-east'), { kubeContext: 'kube-a' }),
          pgoMember(set.get('hippo-west'), { kubeContext: 'kube-b', namespace: 'west' }),
          externalMember(set.get('laptop')),
        ],
      },
      { KUBECONFIG: kubeconfig },
    );
    await e.setSecret('passwords["laptop"]', TEST_PASSWORD);
  });
  after(async function () {
    await e?.stack.destroy().catch(() => undefined);
    await e?.remove();
    for (const s of standIns) await s.stop();
    for (const a of apis) await a.stop();
    await set?.stopAll();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it("each PostgresCluster lands in its own cluster; the seed's 75 rows converge on all three members", async function () {
    const up = await e.stack.up();
    assert.equal(up.summary.result, 'succeeded');
    const [a, b] = apis as [KubeApiServer, KubeApiServer];
    assert.ok(await a.get(`${GROUP}/namespaces/postgres-operator/postgresclusters/hippo-east`));
    assert.equal(await a.get(`${GROUP}/namespaces/west/postgresclusters/hippo-west`), undefined);
    assert.ok(await b.get(`${GROUP}/namespaces/west/postgresclusters/hippo-west`));
    for (const [name, conn] of Object.entries(await e.connections())) {
      if (name === 'laptop') continue;
      GENERATED_SECRETS.add(conn.password);
      set.get(name).connection.password = conn.password;
    }
    const all = [...set.servers.values()];
    for (const s of all) await query(s, SEED_INSERT);
    const count = async (s: TestServer) =>
      Number((await query<{ n: string }>(s, 'SELECT count(*) AS n FROM hippos'))[0]?.n);
    await waitFor('75 rows on all three', async () =>
      (await Promise.all(all.map(count))).every((n) => n === 75),
    );
    const perOwner = await query(
      set.get('laptop'),
      'SELECT node_name, count(*)::int AS n FROM hippos GROUP BY 1 ORDER BY 1',
    );
    assert.deepEqual(perOwner, [
      { node_name: 'hippo-east', n: 25 },
      { node_name: 'hippo-west', n: 25 },
      { node_name: 'laptop', n: 25 },
    ]);
  });
});
