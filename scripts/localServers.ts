/**
 * Persistent PostgreSQL servers for the `local` stack: one per member listed in Pulumi.local.yaml,
 * on 127.0.0.1 at the member's port, data under `.local/servers/`, configured as every embedded
 * server is (scripts/embedded/serverConfig.ts).
 *
 * Unlike the tests' servers these outlive the command that starts them (pg_ctl, not a child
 * process), and starting is idempotent: this clone's server already running on its port is reused.
 * A port held by anything else (another clone's server, another PostgreSQL) is never used.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
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
import { LOCAL_BASE_PORT_KEY, type LocalSettings, localSettings } from './localConfig';
import { freeBasePort, portOwner, portTaken, postmasterOf } from './localPorts';
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

/** The superuser password of the local servers (made on first use). */
export const localPassword = (): string => localSecret('postgres-password');

/** The local servers' password if the job has made them; never creates it. */
export function existingLocalPassword(): string | undefined {
  const file = path.join(LOCAL_DIR, 'postgres-password');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

/** The local job's own settings in Pulumi.local.yaml (scripts/localConfig.ts), checked. */
export function localJobSettings(): LocalSettings {
  return localSettings(projectStackConfig(LOCAL_STACK));
}

/** TLS on the local servers (verify-full everywhere): `pg-federation-local:tls`. */
export function localTlsEnabled(): boolean {
  return localJobSettings().tls;
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
 * The local stack's `pg-federation:` config: the tracked Pulumi.local.yaml, each member on
 * basePort + i when `pg-federation-local:basePort` is set, with TLS settings on every member when
 * the local job's TLS switch is on (the CA file serves Pulumi's connections and
 * every subscriber's server alike: they all run here).
 */
export function localRawConfig(): Record<string, unknown> {
  const config: Record<string, unknown> = Object.fromEntries(
    Object.entries(projectStackConfig(LOCAL_STACK)).filter(
      ([key]) => key.startsWith('pg-federation:') && key !== 'pg-federation:passwords',
    ),
  );
  const settings = localJobSettings();
  if (settings.basePort !== undefined) {
    const base = settings.basePort;
    const members = (config['pg-federation:members'] ?? []) as Array<Record<string, unknown>>;
    config['pg-federation:members'] = members.map((m, i) => ({ ...m, port: base + i }));
  }
  if (settings.tls) {
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

/** Why a member's port cannot be this clone's server's, with the way out; undefined when it can. */
async function portProblem(server: LocalServer): Promise<string | undefined> {
  if (!(await portTaken(server.port))) return undefined;
  const owner = portOwner(server.port) ?? "something that is not this clone's server";
  const count = localServers().length;
  return (
    `port ${server.port} of member "${server.name}" is used by ${owner}, not this clone's server: move this clone's ` +
    `servers with \`${LOCAL_BASE_PORT_KEY}: ${await freeBasePort(count)}\` in Pulumi.local.yaml (or change the ` +
    "members' ports there), or stop what runs there"
  );
}

/** Whether this clone's server of a member runs, on the member's port. */
export function ownServerRunning(server: LocalServer): boolean {
  return postmasterOf(server.dataDir)?.port === server.port;
}

/**
 * For the commands that only read and write rows (insert, verify, status): every member's server
 * must be this clone's and running. The problems, one per member, each with its fix.
 */
export async function notServing(servers: LocalServer[]): Promise<string[]> {
  const problems: string[] = [];
  for (const server of servers) {
    if (ownServerRunning(server)) continue;
    problems.push(
      (await portProblem(server)) ??
        `member "${server.name}": its server (127.0.0.1:${server.port}) is not running; \`npm run local\` starts it`,
    );
  }
  return problems;
}

/**
 * Initialise (first time) and start one server; reuse it when it already runs as configured (a
 * server whose TLS switch or port changed is restarted). A port held by anything but this clone's
 * own server is never used.
 */
export async function startServer(
  server: LocalServer,
  capacity: number,
): Promise<'reused' | 'started' | 'created' | 'restarted'> {
  const tls = localTlsEnabled();
  let restarted = false;
  const running = postmasterOf(server.dataDir);
  if (running !== undefined) {
    if (running.port === server.port && servedWithTls(server.dataDir) === tls) return 'reused';
    await stop(server.dataDir);
    restarted = true;
  }
  const taken = await portProblem(server);
  if (taken !== undefined) throw new Error(taken);
  makeServerRoot(path.dirname(path.dirname(server.dataDir)));
  makeServerRoot(path.dirname(server.dataDir));
  const created = !isInitialised(server.dataDir);
  if (created) await initialise(server.dataDir, localPassword());
  configureTls(server, tls);
  try {
    // The major its data folder was made by (PG_VERSION), which `start` runs it with.
    const major = Number(readFileSync(path.join(server.dataDir, 'PG_VERSION'), 'utf8').trim());
    await start(server.dataDir, server.port, serverFlags({ capacity, major, tls }));
  } catch (err) {
    // Taken between the check and the start: say whose it is, as the check does.
    const log = path.join(server.dataDir, 'server.log');
    const bind =
      existsSync(log) &&
      /could not bind .*Address already in use/.test(readFileSync(log, 'utf8').slice(-4000));
    if (bind)
      throw new Error(
        (await portProblem(server)) ??
          `port ${server.port} of member "${server.name}" was taken while its server started`,
      );
    throw err;
  }
  detach(server.dataDir); // these servers outlive the command
  return created ? 'created' : restarted ? 'restarted' : 'started';
}

/**
 * Every server this clone's job has made, configured or not (a member removed from
 * Pulumi.local.yaml keeps its server until local:stop or local:destroy), with whether it runs.
 */
export function everyLocalServer(
  cfg: FederationConfig,
): Array<LocalServer & { configured: boolean; running: boolean }> {
  const configured = localServers(cfg);
  const root = serversDir();
  const made = existsSync(root)
    ? readdirSync(root).filter(
        (d) => isInitialised(path.join(root, d)) && !configured.some((c) => c.name === d),
      )
    : [];
  return [
    ...configured.map((c) => ({ ...c, configured: true, running: ownServerRunning(c) })),
    ...made.map((name) => {
      const dataDir = path.join(root, name);
      const pm = postmasterOf(dataDir);
      return { name, port: pm?.port ?? 0, dataDir, configured: false, running: pm !== undefined };
    }),
  ];
}

/** Stop a server of this clone's (a postmaster.pid left by a machine's restart is no running server). */
export async function stopServer(server: LocalServer): Promise<'stopped' | 'not running'> {
  if (postmasterOf(server.dataDir) === undefined) return 'not running';
  return stop(server.dataDir);
}

/** Remove every local server's data, the local state backend and the local secrets. */
export function removeLocalData(): void {
  const data = serversDir();
  if (!data.startsWith(LOCAL_DIR)) rmSync(path.dirname(data), { recursive: true, force: true });
  rmSync(LOCAL_DIR, { recursive: true, force: true });
}
