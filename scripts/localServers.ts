/**
 * Persistent PostgreSQL servers for the `local` stack: one per member listed in Pulumi.local.yaml,
 * on 127.0.0.1 at the member's port, data under `.local/servers/`, configured as every embedded
 * server is (scripts/embedded/serverConfig.ts).
 *
 * Unlike the tests' servers these outlive the command that starts them (pg_ctl, not a child
 * process), and starting is idempotent: a server that already answers on its port is reused.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import * as path from 'node:path';
import { Client } from 'pg';
import { server as serverSql } from '../components/providers/sql/server';
import { type FederationConfig, configFromValues } from '../components/stackConfig';
import { LocalCa } from './embedded/certificates';
import {
  detach,
  initialise,
  isInitialised,
  makeServerRoot,
  serverUserCanEnter,
  start,
  stop,
  writeServerFile,
} from './embedded/postgres';
import { installCertificate, serverFlags, writeHba } from './embedded/serverConfig';
import { PROJECT_ROOT, projectStackConfig } from './workspace';

export { PROJECT_ROOT };
/** Where the local servers, state and secrets live (PG_FEDERATION_LOCAL_DIR overrides it, for tests). */
export const LOCAL_DIR = process.env.PG_FEDERATION_LOCAL_DIR ?? path.join(PROJECT_ROOT, '.local');
export const LOCAL_STACK = 'local';

/**
 * The servers' data: `.local/servers/`, unless the OS user that runs PostgreSQL cannot reach it
 * (as root the servers run as `postgres`, which cannot enter a clone under a private folder such
 * as /root). Then a folder of this clone's own under /var/tmp, which survives reboots.
 */
export function serversDir(): string {
  const inside = path.join(LOCAL_DIR, 'servers');
  makeServerRoot(LOCAL_DIR);
  if (serverUserCanEnter(LOCAL_DIR)) return inside;
  const id = createHash('sha256').update(path.resolve(LOCAL_DIR)).digest('hex').slice(0, 12);
  return path.join('/var/tmp', `pg-federation-${id}`, 'servers');
}

export interface LocalServer {
  name: string;
  port: number;
  dataDir: string;
}

/** A secret generated once and kept in `.local/` (mode 0600): never printed. */
export function localSecret(file: string): string {
  const full = path.join(LOCAL_DIR, file);
  if (!existsSync(full)) {
    mkdirSync(LOCAL_DIR, { recursive: true });
    writeFileSync(full, randomBytes(24).toString('base64url'), { mode: 0o600 });
  }
  return readFileSync(full, 'utf8').trim();
}

/** The superuser password of the local servers. */
export const localPassword = (): string => localSecret('postgres-password');

/** The local job's own switch in Pulumi.local.yaml: TLS on the local servers (verify-full everywhere). */
export const LOCAL_TLS_KEY = 'pg-federation-local:tls';

export function localTlsEnabled(): boolean {
  return projectStackConfig(LOCAL_STACK)[LOCAL_TLS_KEY] === true;
}

/** Where the local CA and its certificates live: beside the servers' data, where they can read it. */
export function localTlsDir(): string {
  return path.join(path.dirname(serversDir()), 'tls');
}

/** The local CA (made on first use). */
export function localCa(): LocalCa {
  return LocalCa.open(localTlsDir(), 'pg-federation local CA');
}

/**
 * The local stack's `pg-federation:` config: the tracked Pulumi.local.yaml, with TLS settings on
 * every member when the local job's TLS switch is on (the CA file serves Pulumi's connections and
 * every subscriber's server alike: they all run here).
 */
export function localRawConfig(): Record<string, unknown> {
  const config: Record<string, unknown> = Object.fromEntries(
    Object.entries(projectStackConfig(LOCAL_STACK)).filter(
      ([key]) => key.startsWith('pg-federation:') && key !== 'pg-federation:passwords',
    ),
  );
  if (localTlsEnabled()) {
    const ca = localCa().certFile;
    const members = (config['pg-federation:members'] ?? []) as Array<Record<string, unknown>>;
    config['pg-federation:members'] = members.map((m) => ({
      ...m,
      sslmode: 'verify-full',
      sslrootcert: ca,
      replicationSslmode: 'verify-full',
      replicationSslrootcert: ca,
    }));
  }
  return config;
}

/** The local stack's config, parsed as the program parses it. */
export function localStackConfig(): FederationConfig {
  return configFromValues(localRawConfig());
}

export function localServers(cfg: FederationConfig = localStackConfig()): LocalServer[] {
  const dataRoot = serversDir();
  return cfg.members.map((m) => {
    if (m.kind !== 'external' || !['127.0.0.1', 'localhost'].includes(m.admin.host)) {
      throw new Error(`Pulumi.local.yaml: member "${m.name}" must be external on 127.0.0.1 to run locally`);
    }
    return { name: m.name, port: m.admin.port, dataDir: path.join(dataRoot, m.name) };
  });
}

/** Does a PostgreSQL server answer on this port with our password (over TLS where it offers it)? */
export async function answers(port: number): Promise<boolean> {
  for (const ssl of [{ rejectUnauthorized: false }, false] as const) {
    const client = new Client({
      host: '127.0.0.1',
      port,
      user: 'postgres',
      password: localPassword(),
      database: 'postgres',
      connectionTimeoutMillis: 3000,
      ssl,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query(serverSql.ping);
      return true;
    } catch {
      // next: without TLS
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  return false;
}

/** Does anything accept TCP connections on this loopback port? */
function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const TLS_MARK = 'pg-federation-tls';

/** Whether a server's data directory was last configured for TLS. */
function servedWithTls(dataDir: string): boolean {
  return (
    existsSync(path.join(dataDir, TLS_MARK)) &&
    readFileSync(path.join(dataDir, TLS_MARK), 'utf8').trim() === 'on'
  );
}

/** TLS on (a certificate from the local CA, TLS-only pg_hba.conf) or off, written into the data directory. */
function configureTls(server: LocalServer, tls: boolean): void {
  if (tls && !existsSync(path.join(server.dataDir, 'server.crt'))) {
    installCertificate(server.dataDir, localCa().issue(server.name));
  }
  writeHba(server.dataDir, tls);
  writeServerFile(server.dataDir, TLS_MARK, tls ? 'on' : 'off', 0o644);
}

/**
 * Initialise (first time) and start one server; reuse it when it already runs as configured (a
 * server whose TLS switch changed is restarted).
 */
export async function startServer(
  server: LocalServer,
  capacity: number,
): Promise<'reused' | 'started' | 'created' | 'restarted'> {
  const tls = localTlsEnabled();
  let restarted = false;
  if (await answers(server.port)) {
    if (!isInitialised(server.dataDir) || servedWithTls(server.dataDir) === tls) return 'reused';
    await stop(server.dataDir);
    restarted = true;
  } else if (await portTaken(server.port)) {
    throw new Error(
      `port ${server.port} of member "${server.name}" is taken by something that is not this project's server ` +
        `(another PostgreSQL?); stop it or change the member's port in Pulumi.local.yaml`,
    );
  }
  makeServerRoot(path.dirname(path.dirname(server.dataDir)));
  makeServerRoot(path.dirname(server.dataDir));
  const created = !isInitialised(server.dataDir);
  if (created) await initialise(server.dataDir, localPassword());
  configureTls(server, tls);
  await start(server.dataDir, server.port, serverFlags({ capacity, tls }));
  detach(server.dataDir); // these servers outlive the command
  return created ? 'created' : restarted ? 'restarted' : 'started';
}

export async function stopServer(server: LocalServer): Promise<'stopped' | 'not running'> {
  return stop(server.dataDir);
}

/** Remove every local server's data, the local state backend and the local secrets. */
export function removeLocalData(): void {
  const data = serversDir();
  if (!data.startsWith(LOCAL_DIR)) rmSync(path.dirname(data), { recursive: true, force: true });
  rmSync(LOCAL_DIR, { recursive: true, force: true });
}
