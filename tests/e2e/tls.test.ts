/**
 * The seed's scenario over TLS only, through the real engine: every server TLS-only (`hostssl`), its
 * certificate signed by a CA the test makes; Pulumi connects with verify-full and `sslrootcert`, the
 * subscriptions with verify-full and `replicationSslrootcert` (the CA file where each subscriber's
 * server reads it). Then certificates are rotated: new ones from the same CA (no config change), and
 * a new CA by config, through a bundle of both, with in-place updates only.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { clientConfig } from '../../components/providers/connection';
import { SEED_INSERT, converge as convergeOn } from '../support/convergence';
import { ServerSet, query } from '../../scripts/embedded/serverSet';
import { TEST_PASSWORD } from '../support/secrets';
import { EngineStack, changes, requireEngine } from '../support/engine';
import { LocalCa, caBundle } from '../../scripts/embedded/certificates';

const NAMES = ['hippo-east', 'hippo-central', 'hippo-west', 'hippo-south'];

describe('the federation over TLS only (verify-full everywhere), through the real engine', function () {
  this.timeout(15 * 60_000);
  let set: ServerSet;
  let e: EngineStack;
  let ca: string;
  const servers = (names: string[]) => names.map((n) => set.get(n));
  const config = (names: string[], caFile: string) => ({
    'pg-federation:syncTimeoutSeconds': 120,
    'pg-federation:members': servers(names).map((s) => ({
      name: s.name,
      kind: 'external',
      host: '127.0.0.1',
      port: s.port,
      sslmode: 'verify-full',
      sslrootcert: caFile,
      replicationSslmode: 'verify-full',
      replicationSslrootcert: caFile,
    })),
  });
  const converge = (names: string[], rows: number) => convergeOn(servers(names), rows);

  before(async function () {
    requireEngine(this);
    set = await ServerSet.start(NAMES, { tls: true });
    ca = set.ca.certFile;
    e = await EngineStack.create('tls', config(NAMES.slice(0, 3), ca));
    for (const n of NAMES) await e.setSecret(`passwords["${n}"]`, TEST_PASSWORD);
  });
  after(async function () {
    await e?.stack.destroy().catch(() => undefined);
    await e?.remove();
    await set?.stopAll();
  });

  it('75 rows, then hippo-south by config and 100, every connection verified and encrypted', async function () {
    await e.stack.up();
    for (const s of servers(NAMES.slice(0, 3))) await query(s, SEED_INSERT);
    await converge(NAMES.slice(0, 3), 75);
    await e.setConfig(config(NAMES, ca));
    assert.deepEqual(changes((await e.stack.preview()).changeSummary), { create: 23 });
    await e.stack.up();
    await query(set.get('hippo-south'), SEED_INSERT);
    await converge(NAMES, 100);
    // Every replication connection is TLS (the walsenders serving the subscriptions).
    for (const s of servers(NAMES)) {
      const senders = await query<{ ssl: boolean }>(
        s,
        `SELECT s.ssl FROM pg_stat_replication r JOIN pg_stat_ssl s ON s.pid = r.pid`,
      );
      assert.equal(senders.length, 3, `${s.name} serves its 3 subscribers`);
      assert.ok(
        senders.every((r) => r.ssl),
        `${s.name}: every subscriber connects over TLS`,
      );
    }
    // And a plain connection is refused, the program's replication role's too.
    const plain = new Client(clientConfig({ ...set.get('hippo-east').connection, sslmode: 'disable' }));
    await assert.rejects(plain.connect(), /no pg_hba\.conf entry .* no encryption/);
    const password = await e.generatedPassword('hippo-east-replication-password');
    const replicator = { ...set.get('hippo-east').connection, user: 'federation_replicator', password };
    const plainReplicator = new Client(clientConfig({ ...replicator, sslmode: 'disable' }));
    await assert.rejects(
      plainReplicator.connect(),
      /no pg_hba\.conf entry for host "127\.0\.0\.1", user "federation_replicator", database "postgres", no encryption/,
    );
    const tlsReplicator = new Client(clientConfig(replicator));
    await tlsReplicator.connect();
    try {
      const [row] = (
        await tlsReplicator.query<{ ssl: boolean }>(
          'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
        )
      ).rows;
      assert.equal(row?.ssl, true, 'over TLS it logs in');
    } finally {
      await tlsReplicator.end();
    }
  });

  it('new server certificates from the same CA: nothing to change, replication keeps flowing', async function () {
    for (const s of servers(NAMES)) await s.useCertificate(set.ca.issue(s.name));
    // Walsenders keep their sessions; new sessions see the new certificates.
    assert.deepEqual(changes((await e.stack.preview()).changeSummary), {});
    await query(set.get('hippo-west'), SEED_INSERT);
    await converge(NAMES, 125);
  });

  it('a new CA by config: through a bundle of both, then the new one alone, with in-place updates only', async function () {
    const next = LocalCa.make(path.join(set.root, 'ca-2'), 'the next CA');
    const bundle = caBundle(path.join(set.root, 'ca-bundle.crt'), [set.ca, next]);
    await e.setConfig(config(NAMES, bundle));
    const toBundle = await e.stack.up();
    assert.deepEqual(Object.keys(changes(toBundle.summary.resourceChanges)), ['update']);
    for (const s of servers(NAMES)) {
      s.connection.ca = readFileSync(bundle, 'utf8'); // the test's own clients trust both too
      await s.useCertificate(next.issue(s.name));
    }
    // Existing walsenders keep their sessions; make every subscription reconnect to the new certificates.
    for (const s of servers(NAMES)) {
      await query(s, `SELECT pg_terminate_backend(pid) FROM pg_stat_replication`);
    }
    await query(set.get('hippo-central'), SEED_INSERT);
    await converge(NAMES, 150);
    await e.setConfig(config(NAMES, next.certFile));
    for (const s of servers(NAMES)) s.connection.ca = next.pem;
    const toNext = await e.stack.up();
    assert.deepEqual(Object.keys(changes(toNext.summary.resourceChanges)), ['update']);
    await query(set.get('hippo-south'), SEED_INSERT);
    await converge(NAMES, 175);
    assert.deepEqual(changes((await e.stack.preview()).changeSummary), {});
  });
});
