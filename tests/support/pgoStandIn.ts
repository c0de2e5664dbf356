/**
 * A stand-in for PGO (Crunchy Postgres Operator v5.8.9) that plays exactly what this program relies
 * on, against a real API server (tests/support/kube.ts), with an embedded PostgreSQL server standing
 * for each cluster's primary. Each behaviour names the PGO source it follows (tag v5.8.9):
 *
 * 1. The namespace root CA: `reconcileRootCertificate` (internal/controller/postgrescluster/pki.go)
 *    keeps a Secret `pgo-root-cacert` (naming.RootCertSecret) with `root.crt` and `root.key`.
 * 2. User Secrets found by label only: `reconcilePostgresUserSecrets` (.../postgres.go) lists Secrets
 *    matching `naming.ClusterPostgresUsers` (label `postgres-operator.crunchydata.com/cluster=<name>`
 *    and `postgres-operator.crunchydata.com/pguser` present). `generatePostgresUserSecret` keeps an
 *    existing `password` and `verifier`, generates a password when there is none and a verifier when
 *    it is empty, writes `host` (`<name>-primary.<ns>.svc`), `port` and `user`, and applies the whole
 *    Secret with server-side apply, field manager `postgrescluster-controller`, force.
 * 3. The verifier becomes the role's password: `reconcilePostgresUsersInPostgreSQL` runs
 *    `postgres.WriteUsersInPostgreSQL` (internal/postgres/users.go), `ALTER ROLE … WITH LOGIN
 *    SUPERUSER PASSWORD '<verifier>'` for the `postgres` user, and records a hash of what it ran in
 *    `status.usersRevision`, so a new verifier is applied again.
 * 4. Readiness: `reconcileInstance` (.../instance.go) counts ready pods into
 *    `status.instances[].readyReplicas`; here, once the password is applied.
 * 5. The primary Service `<name>-primary` (.../cluster.go): the program reaches each member at the
 *    embedded server the test maps it to (the member's host/port in stack config).
 *
 * What only a real PGO can show is not played: pods, TLS certificates, pgnodemx, backups, failover.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client, escapeLiteral } from 'pg';
import { scramSha256Verifier } from '../../components/scram';
import { LocalCa } from '../../scripts/embedded/certificates';
import { clientConfig } from '../../components/providers/connection';
import { type TestServer, query } from '../../scripts/embedded/serverSet';
import { GENERATED_SECRETS } from './secrets';
import type { KubeApiServer, KubeObject } from './kube';

const GROUP = '/apis/postgres-operator.crunchydata.com/v1beta1';
const LABEL_CLUSTER = 'postgres-operator.crunchydata.com/cluster';
const LABEL_PGUSER = 'postgres-operator.crunchydata.com/pguser';
const LABEL_ROLE = 'postgres-operator.crunchydata.com/role';
const MANAGER = 'postgrescluster-controller';

interface Secret extends KubeObject {
  data?: Record<string, string>;
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (text: string | undefined) =>
  text === undefined ? '' : Buffer.from(text, 'base64').toString('utf8');

/** A CA, as PGO's root certificate: its certificate and key (scripts/embedded/certificates.ts makes it). */
function rootCertificate(): { crt: string; key: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'pg-federation-pgo-ca-'));
  try {
    const ca = LocalCa.make(dir, 'postgres-operator-ca');
    return { crt: ca.pem, key: readFileSync(path.join(dir, 'ca.key'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export class PgoStandIn {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly ca = rootCertificate();
  /** The superuser PGO uses inside the pod (here: a role of our own, kept when `postgres` changes). */
  private readonly operatorPassword = randomBytes(18).toString('base64url');
  /** Errors of the last pass, for a test that waits in vain. */
  lastError: string | undefined;
  /**
   * What PGO found in each cluster's user Secret the first time it reconciled the cluster: the
   * password and verifier it then applies, or that it had to make its own (as PGO does when the
   * Secret lacks them).
   */
  readonly firstSight = new Map<
    string,
    { password: 'secret' | 'generated'; verifier: 'secret' | 'computed' }
  >();

  constructor(
    private readonly api: KubeApiServer,
    private readonly namespaces: string[],
    /** The embedded server standing for each cluster's primary, by cluster name. */
    private readonly primaries: Map<string, TestServer>,
  ) {
    GENERATED_SECRETS.add(this.operatorPassword);
  }

  async start(): Promise<void> {
    for (const server of this.primaries.values()) {
      await query(
        server,
        `CREATE ROLE pgo_standin LOGIN SUPERUSER PASSWORD ${escapeLiteral(this.operatorPassword)}`,
      ).catch(() => undefined);
    }
    const loop = async () => {
      this.running = this.pass().then(
        () => {
          this.lastError = undefined;
        },
        (err: unknown) => {
          this.lastError = err instanceof Error ? err.message : String(err);
        },
      );
      await this.running;
      if (this.timer !== undefined) this.timer = setTimeout(() => void loop(), 250);
    };
    this.timer = setTimeout(() => void loop(), 0);
  }

  async stop(): Promise<void> {
    const timer = this.timer;
    this.timer = undefined;
    if (timer !== undefined) clearTimeout(timer);
    await this.running;
  }

  /** One reconcile pass over every PostgresCluster of the watched namespaces. */
  private async pass(): Promise<void> {
    for (const ns of this.namespaces) {
      const clusters = await this.api.get<{ items: KubeObject[] }>(
        `${GROUP}/namespaces/${ns}/postgresclusters`,
      );
      if (clusters === undefined || clusters.items.length === 0) continue;
      await this.rootCa(ns);
      for (const cluster of clusters.items) await this.reconcile(ns, cluster);
    }
  }

  private async rootCa(ns: string): Promise<void> {
    if ((await this.api.get(`/api/v1/namespaces/${ns}/secrets/pgo-root-cacert`)) !== undefined) return;
    await this.api.apply(
      `/api/v1/namespaces/${ns}/secrets/pgo-root-cacert`,
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'pgo-root-cacert', namespace: ns },
        data: { 'root.crt': b64(this.ca.crt), 'root.key': b64(this.ca.key) },
      },
      MANAGER,
    );
  }

  private async reconcile(ns: string, cluster: KubeObject): Promise<void> {
    const name = cluster.metadata.name;
    const primary = this.primaries.get(name);
    if (primary === undefined) return;
    const selector = encodeURIComponent(`${LABEL_CLUSTER}=${name},${LABEL_PGUSER}`);
    const secrets =
      (await this.api.get<{ items: Secret[] }>(`/api/v1/namespaces/${ns}/secrets?labelSelector=${selector}`))
        ?.items ?? [];
    const existing = secrets.find((s) => s.metadata.labels?.[LABEL_PGUSER] === 'postgres');
    let password = unb64(existing?.data?.password);
    let verifier = unb64(existing?.data?.verifier);
    const sight = {
      password: password === '' ? ('generated' as const) : ('secret' as const),
      verifier: password === '' || verifier === '' ? ('computed' as const) : ('secret' as const),
    };
    if (!this.firstSight.has(name)) this.firstSight.set(name, sight);
    if (password === '') {
      password = randomBytes(18).toString('base64url');
      GENERATED_SECRETS.add(password);
      verifier = '';
    }
    if (verifier === '') verifier = scramSha256Verifier(password, randomBytes(16).toString('base64'));
    const secretName = existing?.metadata.name ?? `${name}-pguser-postgres`;
    await this.api.apply(
      `/api/v1/namespaces/${ns}/secrets/${secretName}`,
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: secretName,
          namespace: ns,
          labels: { [LABEL_CLUSTER]: name, [LABEL_PGUSER]: 'postgres', [LABEL_ROLE]: 'pguser' },
        },
        data: {
          host: b64(`${name}-primary.${ns}.svc`),
          port: b64('5432'),
          user: b64('postgres'),
          password: b64(password),
          verifier: b64(verifier),
        },
      },
      MANAGER,
    );
    const revision = createHash('sha256').update(verifier).digest('hex').slice(0, 16);
    const status = (cluster as { status?: { usersRevision?: string } }).status;
    if (status?.usersRevision !== revision) {
      const client = new Client(
        clientConfig(
          { ...primary.connection, user: 'pgo_standin', password: this.operatorPassword },
          'pgo-standin',
        ),
      );
      await client.connect();
      try {
        await client.query(`ALTER ROLE postgres WITH LOGIN SUPERUSER PASSWORD ${escapeLiteral(verifier)}`);
      } finally {
        await client.end();
      }
    }
    await this.api.mergePatch(`${GROUP}/namespaces/${ns}/postgresclusters/${name}/status`, {
      status: {
        observedGeneration: cluster.metadata.generation,
        usersRevision: revision,
        instances: [{ name: 'instance1', replicas: 1, readyReplicas: 1, updatedReplicas: 1 }],
      },
    });
  }
}
