/**
 * Throwaway PostgreSQL servers on free loopback ports, for the tests and the benchmark: each
 * configured as a member of a mesh (scripts/embedded/serverConfig.ts), its data in a fresh folder
 * under the OS temp dir that the server's OS user (`postgres`, when we run as root) can enter.
 * `stopAll` stops every server and removes the folder; call it in an `after` hook so it runs when a
 * test fails too (and a server left running when the process exits is stopped then).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { type PgConnection, clientConfig } from '../../components/providers/connection';
import { server as serverSql, settingsSql } from '../../components/providers/sql/server';
import { type IssuedCertificate, LocalCa } from './certificates';
import {
  appendAutoConf,
  copyDataDir,
  initialise,
  kill,
  makeServerRoot,
  promote,
  selectedMajor,
  start,
  stop,
  writeServerFile,
} from './postgres';
import { installCertificate, serverFlags, writeHba } from './serverConfig';
import { standbySql } from './standbySql';

/** The PostgreSQL major these servers run (PG_FEDERATION_POSTGRES, default the newest). */
export const MAJOR = selectedMajor();

/**
 * The superuser password of this process's servers: random, never printed (the tests scan their
 * own output for it).
 */
export const SERVER_PASSWORD = randomBytes(18).toString('base64url');

export interface TestServer {
  name: string;
  port: number;
  /** Its data directory (after a failover, its promoted standby's). */
  dataDir: string;
  /** Superuser connection. */
  connection: PgConnection;
  running: boolean;
  /** Start it; `settings` are extra `name=value` server settings for this start only. */
  start(settings?: Record<string, string>): Promise<void>;
  /** Fast shutdown: sessions end, nothing is lost. */
  stop(): Promise<void>;
  /** A crash: every process of the server SIGKILLed at once; `start` then runs crash recovery. */
  crash(): Promise<void>;
  /** Serve this certificate from now on (TLS servers): new connections see it, none is dropped. */
  useCertificate(issued: IssuedCertificate): Promise<void>;
  /**
   * Lose the server's disk: stop it, delete its data directory, start an empty one at the same
   * endpoint (of another major, for an upgrade by rebuild).
   */
  wipe(major?: number): Promise<void>;
}

export interface ServerOptions {
  /** The PostgreSQL major (default: MAJOR, from PG_FEDERATION_POSTGRES). */
  major?: number;
  /** Mesh capacity the replication settings are sized for (as the program's `maxMembers`). */
  capacity?: number;
  /** Extra `name=value` server settings, or settings that replace the computed ones. */
  settings?: Record<string, string | number>;
  /**
   * TLS as PGO sets it up: a server certificate and a pg_hba.conf that accepts TCP connections over
   * TLS only. `true`: a CA of the set's own signs the certificate; or the CA to sign it with.
   */
  tls?: boolean | LocalCa;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The launcher starts apply workers at most every `wal_retrieve_retry_interval` (default 5 s), so
 * every new subscription would wait that long before it syncs: shorter on throwaway servers.
 */
const QUICK_START = { wal_retrieve_retry_interval: '500ms' };

export class ServerSet {
  readonly servers = new Map<string, TestServer>();
  private readonly dataDirs: string[] = [];
  /** Each server's flags, which its standby starts with too. */
  private readonly flags = new Map<string, string[]>();
  /** Each server's standby, by the server's name. */
  private readonly standbys = new Map<string, TestServer>();
  private ownCa: LocalCa | undefined;

  private constructor(readonly root: string) {}

  static async start(names: string[], options: ServerOptions = {}): Promise<ServerSet> {
    const root = mkdtempSync(path.join(tmpdir(), 'pg-federation-test-'));
    makeServerRoot(root); // the postgres OS user must be able to enter it
    const set = new ServerSet(root);
    if (names.length === 0) return set;
    try {
      await Promise.all(names.map((name) => set.add(name, options)));
    } catch (err) {
      await set.stopAll();
      throw err;
    }
    return set;
  }

  /** The set's own CA, made when a server first asks for TLS without naming one. */
  get ca(): LocalCa {
    this.ownCa ??= LocalCa.make(path.join(this.root, 'ca'));
    return this.ownCa;
  }

  async add(name: string, options: ServerOptions = {}): Promise<TestServer> {
    const port = await freePort();
    const dataDir = path.join(this.root, name);
    this.dataDirs.push(dataDir);
    await initialise(dataDir, SERVER_PASSWORD, options.major ?? MAJOR);
    const ca = options.tls === true ? this.ca : options.tls === false ? undefined : options.tls;
    if (ca !== undefined) {
      installCertificate(dataDir, ca.issue(name));
      writeHba(dataDir, true);
    }
    const flags = serverFlags({
      capacity: options.capacity ?? 10,
      major: options.major ?? MAJOR,
      tls: ca !== undefined,
      settings: { ...QUICK_START, ...options.settings },
    });
    const server: TestServer = {
      name,
      port,
      dataDir,
      connection: {
        host: '127.0.0.1',
        port,
        database: 'postgres',
        user: 'postgres',
        password: SERVER_PASSWORD,
        sslmode: ca !== undefined ? 'verify-full' : 'disable',
        ...(ca !== undefined ? { ca: ca.pem } : {}),
      },
      running: false,
      start: async (settings = {}) => {
        const once = Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
        await start(server.dataDir, server.port, [...flags, ...once]);
        server.running = true;
      },
      stop: async () => {
        await stop(server.dataDir);
        server.running = false;
      },
      crash: async () => {
        await kill(server.dataDir);
        server.running = false;
      },
      wipe: async (major) => {
        await stop(server.dataDir);
        rmSync(server.dataDir, { recursive: true, force: true });
        await initialise(server.dataDir, SERVER_PASSWORD, major ?? options.major ?? MAJOR);
        server.connection.password = SERVER_PASSWORD;
        await server.start();
      },
      useCertificate: async (issued) => {
        installCertificate(server.dataDir, issued);
        await query(server, serverSql.reloadConf);
      },
    };
    await server.start();
    this.servers.set(name, server);
    this.flags.set(name, flags);
    return server;
  }

  /**
   * A streaming standby of a server, as a PGO instance's replica is: made from a copy of the primary
   * stopped cleanly (its slots left out), with a physical slot on the primary, `hot_standby_feedback`
   * and, on PostgreSQL 17+, slot synchronisation (`sync_replication_slots`, `dbname` in its
   * conninfo) with the primary's `synchronized_standby_slots` naming it. `synchronous`: the primary's
   * commits wait for it (`synchronous_standby_names`).
   */
  async addStandby(primaryName: string, opts: { synchronous?: boolean } = {}): Promise<TestServer> {
    const primary = this.get(primaryName);
    const slot = `standby_${primaryName.replace(/-/g, '_')}`;
    const major = Math.floor(
      Number((await query<{ v: number }>(primary, serverSql.version))[0]?.v ?? 0) / 10000,
    );
    await query(primary, standbySql.physicalSlot, [slot]);
    await primary.stop();
    const dataDir = `${primary.dataDir}-standby`;
    this.dataDirs.push(dataDir);
    copyDataDir(primary.dataDir, dataDir);
    const conninfo = `host=127.0.0.1 port=${primary.port} user=postgres password=${SERVER_PASSWORD} dbname=postgres application_name=standby`;
    appendAutoConf(dataDir, standbySql.autoConf(conninfo, slot, major));
    writeServerFile(dataDir, 'standby.signal', '');
    await primary.start();
    // Set after the copy: the standby, once promoted, must not wait for a standby of its own.
    if (major >= 17) await query(primary, settingsSql.set('synchronized_standby_slots', slot));
    if (opts.synchronous === true)
      await query(primary, settingsSql.set('synchronous_standby_names', 'standby'));
    await query(primary, serverSql.reloadConf);
    const port = await freePort();
    await start(dataDir, port, this.flags.get(primaryName) ?? []);
    const standby: TestServer = {
      ...primary,
      name: `${primaryName}-standby`,
      port,
      dataDir,
      connection: { ...primary.connection, port },
      running: true,
    };
    await waitFor(`${primaryName}'s standby streaming`, async () => {
      const rows = await query<{ state: string }>(primary, standbySql.streaming);
      return rows[0]?.state === 'streaming';
    });
    this.standbys.set(primaryName, standby);
    return standby;
  }

  /** A server's standby (addStandby). */
  standby(primaryName: string): TestServer {
    const standby = this.standbys.get(primaryName);
    if (standby === undefined) throw new Error(`${primaryName} has no standby`);
    return standby;
  }

  /**
   * The primary fails as a crash does (SIGKILL, nothing flushed), its standby is promoted and moved
   * to the primary's port (as a Service points at the new primary): from then on the server named
   * `primaryName` is the promoted standby.
   */
  async failOver(primaryName: string): Promise<void> {
    const primary = this.get(primaryName);
    const standby = this.standbys.get(primaryName);
    if (standby === undefined) throw new Error(`${primaryName} has no standby`);
    await kill(primary.dataDir);
    await promote(standby.dataDir);
    await stop(standby.dataDir);
    primary.dataDir = standby.dataDir;
    this.standbys.delete(primaryName);
    await primary.start();
  }

  /** The names of its servers (standbys aside), in the order they were added. */
  names(): string[] {
    return [...this.servers.keys()];
  }

  get(name: string): TestServer {
    const server = this.servers.get(name);
    if (server === undefined) throw new Error(`no test server named ${name}`);
    return server;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.dataDirs.map((dir) => stop(dir).catch(() => undefined)));
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** Run one query on a server with a short-lived client. */
export async function query<R extends Record<string, unknown> = Record<string, unknown>>(
  server: TestServer,
  text: string,
  params: unknown[] = [],
): Promise<R[]> {
  const client = new Client(clientConfig(server.connection, 'pg-federation-test'));
  await client.connect();
  try {
    return (await client.query<R>(text, params)).rows;
  } finally {
    await client.end();
  }
}

/** Poll `probe` until it returns true or `timeoutMs` passes; then fail with `describe()`. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 30_000,
  describe: () => Promise<string> = async () => '',
): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await probe()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}. ${await describe()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
