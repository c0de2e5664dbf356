/**
 * A real Kubernetes API server for the PGO tests: etcd and kube-apiserver from the toolchain
 * (../shared/toolchain/build kube-apiserver) on loopback ports, the PGO v5 PostgresCluster CRD from
 * ../shared/crds/ installed, a token user with all rights, and a kubeconfig for Pulumi's kubernetes
 * provider. There is no kubelet and no controller: nothing runs a pod; a test plays PGO's part
 * (tests/support/pgoStandIn.ts).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { load } from 'js-yaml';
import { PROJECT_ROOT } from '../../scripts/workspace';
import { freePort } from '../../scripts/embedded/serverSet';

/**
 * The PGO v5.8.9 PostgresCluster CRD: `PG_FEDERATION_PGO_CRD`, or the copy in the shared folder beside
 * the repository (GitHub Actions fetches it from PGO's repository at v5.8.9, .github/workflows).
 */
export const CRD_FILE =
  process.env.PG_FEDERATION_PGO_CRD ??
  path.join(PROJECT_ROOT, '..', 'shared', 'crds', 'postgres-operator.crunchydata.com_postgresclusters.yaml');

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}

/** Why the API server cannot run here, or undefined when it can. */
export function kubeUnavailable(): string | undefined {
  const missing = ['kube-apiserver', 'etcd', 'openssl'].filter((c) => !onPath(c));
  if (missing.length > 0) {
    return `${missing.join(', ')} not on PATH (../shared/toolchain/build kube-apiserver provides them; .ci/run uses it)`;
  }
  if (!existsSync(CRD_FILE)) return `the PGO CRD is not at ${CRD_FILE}`;
  return undefined;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    generation?: number;
    uid?: string;
  };
  [key: string]: unknown;
}

export class KubeApiServer {
  private constructor(
    readonly name: string,
    readonly url: string,
    private readonly token: string,
    private readonly ca: string,
    private readonly dir: string,
    private readonly processes: ChildProcess[],
  ) {}

  /** Start etcd and the API server, wait until it is ready, install the PGO CRD and namespaces. */
  static async start(name: string, namespaces: string[] = ['postgres-operator']): Promise<KubeApiServer> {
    const dir = mkdtempSync(path.join(tmpdir(), `pg-federation-kube-${name}-`));
    const [client, peer, secure] = [await freePort(), await freePort(), await freePort()];
    const processes: ChildProcess[] = [];
    // Each process's last stderr lines are kept in a log file of the folder, for a failure to show.
    const run = (command: string, args: string[], logFile: string) => {
      const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      const chunks: Buffer[] = [];
      child.stderr?.on('data', (c: Buffer) => {
        chunks.push(c);
        if (chunks.length > 200) chunks.shift();
      });
      child.on('exit', () => writeFileSync(path.join(dir, logFile), Buffer.concat(chunks)));
      processes.push(child);
      return child;
    };
    run(
      'etcd',
      [
        '--data-dir',
        path.join(dir, 'etcd'),
        '--listen-client-urls',
        `http://127.0.0.1:${client}`,
        '--advertise-client-urls',
        `http://127.0.0.1:${client}`,
        '--listen-peer-urls',
        `http://127.0.0.1:${peer}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${peer}`,
        '--initial-cluster',
        `default=http://127.0.0.1:${peer}`,
      ],
      'etcd.log',
    );
    const key = path.join(dir, 'sa.key');
    spawnSync('openssl', ['genrsa', '-out', key, '2048'], { stdio: 'ignore' });
    spawnSync('openssl', ['rsa', '-in', key, '-pubout', '-out', path.join(dir, 'sa.pub')], {
      stdio: 'ignore',
    });
    const token = randomBytes(16).toString('hex');
    writeFileSync(path.join(dir, 'tokens.csv'), `${token},admin,1,"system:masters"\n`);
    run(
      'kube-apiserver',
      [
        `--etcd-servers=http://127.0.0.1:${client}`,
        `--secure-port=${secure}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        '--endpoint-reconciler-type=none',
        '--authorization-mode=AlwaysAllow',
        `--token-auth-file=${path.join(dir, 'tokens.csv')}`,
        '--service-account-issuer=https://kubernetes.default.svc',
        `--service-account-key-file=${path.join(dir, 'sa.pub')}`,
        `--service-account-signing-key-file=${key}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        `--cert-dir=${path.join(dir, 'certs')}`,
        '--disable-admission-plugins=ServiceAccount',
      ],
      'kube-apiserver.log',
    );
    const caFile = path.join(dir, 'certs', 'apiserver.crt');
    const deadline = Date.now() + 120_000;
    let server: KubeApiServer | undefined;
    while (Date.now() < deadline) {
      if (existsSync(caFile)) {
        server = new KubeApiServer(
          name,
          `https://127.0.0.1:${secure}`,
          token,
          readFileSync(caFile, 'utf8'),
          dir,
          processes,
        );
        const ready = await server.call('GET', '/readyz').catch(() => undefined);
        if (ready?.status === 200) break;
      }
      await new Promise((r) => setTimeout(r, 500));
      server = undefined;
    }
    if (server === undefined) {
      processes.forEach((p) => p.kill('SIGKILL'));
      throw new Error(`kube-apiserver ${name} did not become ready within 120 s (logs in ${dir})`);
    }
    await server.installCrd();
    for (const ns of namespaces) {
      await server.create('/api/v1/namespaces', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: ns },
      });
    }
    return server;
  }

  /** A kubeconfig entry for this server: cluster, user and a context named after it. */
  kubeconfigEntry(): { cluster: unknown; user: unknown; context: unknown } {
    return {
      cluster: {
        name: this.name,
        cluster: { server: this.url, 'certificate-authority-data': Buffer.from(this.ca).toString('base64') },
      },
      user: { name: this.name, user: { token: this.token } },
      context: { name: this.name, context: { cluster: this.name, user: this.name } },
    };
  }

  async call(
    method: string,
    urlPath: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<{ status: number; body: unknown }> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        `${this.url}${urlPath}`,
        {
          method,
          ca: this.ca,
          headers: {
            Authorization: `Bearer ${this.token}`,
            Accept: 'application/json',
            ...(payload !== undefined
              ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(payload) }
              : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // plain text (readyz)
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
        },
      );
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  async get<T = KubeObject>(urlPath: string): Promise<T | undefined> {
    const res = await this.call('GET', urlPath);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new Error(`GET ${urlPath}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as T;
  }

  async create(urlPath: string, object: unknown): Promise<unknown> {
    const res = await this.call('POST', urlPath, object);
    if (res.status !== 201 && res.status !== 200 && res.status !== 409) {
      throw new Error(`POST ${urlPath}: ${res.status} ${JSON.stringify(res.body)}`);
    }
    return res.body;
  }

  /** A server-side apply patch as a field manager, forcing ownership of the fields it sets (as PGO does). */
  async apply(urlPath: string, object: unknown, fieldManager: string): Promise<unknown> {
    const res = await this.call(
      'PATCH',
      `${urlPath}?fieldManager=${encodeURIComponent(fieldManager)}&force=true`,
      object,
      'application/apply-patch+yaml',
    );
    if (res.status !== 200 && res.status !== 201)
      throw new Error(`apply ${urlPath}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async mergePatch(urlPath: string, patch: unknown): Promise<unknown> {
    const res = await this.call('PATCH', urlPath, patch, 'application/merge-patch+json');
    if (res.status !== 200) throw new Error(`PATCH ${urlPath}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  private async installCrd(): Promise<void> {
    const crd = load(readFileSync(CRD_FILE, 'utf8')) as KubeObject;
    await this.create('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const got = await this.get<{ status?: { conditions?: Array<{ type: string; status: string }> } }>(
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`,
      );
      if (got?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error('the PGO CRD was not established within 60 s');
  }

  async stop(): Promise<void> {
    for (const p of this.processes.slice().reverse()) {
      p.kill('SIGTERM');
      await new Promise((r) => (p.exitCode !== null ? r(undefined) : p.once('exit', r)));
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A kubeconfig file naming every server as a context (the first is current). */
export function writeKubeconfig(file: string, servers: KubeApiServer[]): void {
  const entries = servers.map((s) => s.kubeconfigEntry());
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: entries.map((e) => e.cluster),
      users: entries.map((e) => e.user),
      contexts: entries.map((e) => e.context),
      'current-context': servers[0]?.name,
    }),
  );
}
