/**
 * A fresh clone of this checkout for the local job's end-to-end tests: its working tree (committed
 * or not) and its node_modules as hard links, in a folder only root can enter (as a clone under
 * /root is), so a test neither installs packages nor touches this checkout; and the job's npm
 * scripts run in it, as a newcomer runs them (in the foreground, or in a process group of its own
 * that a test can Ctrl-C).
 */
import { strict as assert } from 'node:assert';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { constants as osConstants, tmpdir } from 'node:os';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../../scripts/workspace';

export const PORTS = [55431, 55432, 55433];
/** With hippo-south's, which the walkthrough adds. */
export const ALL_PORTS = [...PORTS, 55434];
export const MEMBERS = ['hippo-east', 'hippo-central', 'hippo-west'];

export const SOUTH = `    - name: hippo-south
      kind: external
      host: 127.0.0.1
      port: 55434
      sslmode: disable
`;

/** A run of an npm script in a process group of its own, as a terminal runs it, read as it goes. */
export class Background {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  /** Its exit status as a shell reports it (128 + the signal's number when a signal ended it). */
  readonly done: Promise<number>;

  constructor(cwd: string, script: string, env: NodeJS.ProcessEnv = process.env) {
    this.child = spawn('npm', ['run', '--silent', script], {
      cwd,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.done = new Promise((resolve) =>
      this.child.on('close', (code, signal) =>
        resolve(code ?? 128 + (signal !== null ? osConstants.signals[signal] : 0)),
      ),
    );
  }

  get pid(): number {
    assert.ok(this.child.pid !== undefined);
    return this.child.pid;
  }

  /** Wait until its output matches (the step the engine is at), failing after `ms`. */
  async waitFor(pattern: RegExp, ms = 120_000): Promise<void> {
    const until = Date.now() + ms;
    while (!pattern.test(this.stdout)) {
      if (Date.now() > until || this.child.exitCode !== null)
        assert.fail(`never saw ${String(pattern)}:\n${this.stdout}\n${this.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Ctrl-C in its terminal: SIGINT to its whole process group. */
  interrupt(): void {
    process.kill(-this.pid, 'SIGINT');
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The rows per node_name each member shows in `npm run local:verify`, as printed. */
export function verified(stdout: string): Record<string, string> {
  return Object.fromEntries(
    [...stdout.matchAll(/^ {2}(hippo-\S+) +(.*)$/gm)].map((m) => [m[1] ?? '', m[2] ?? '']),
  );
}

/** PATH without any folder that holds a `pulumi` executable. */
export function pathWithoutPulumi(): string {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((dir) => dir !== '' && !existsSync(path.join(dir, 'pulumi')))
    .join(path.delimiter);
}

export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** A fresh clone of this checkout's working tree, with its node_modules hard-linked. */
function freshClone(parent: string): string {
  const clone = path.join(parent, 'pg-federation');
  const git = (cwd: string, ...args: string[]) => {
    const run = spawnSync('git', args, { cwd, encoding: 'utf8' });
    assert.equal(run.status, 0, `git ${args.join(' ')}: ${run.stderr}`);
    return run.stdout;
  };
  git(parent, 'clone', '--quiet', '--no-hardlinks', PROJECT_ROOT, clone);
  for (const file of git(PROJECT_ROOT, 'ls-files', '--cached', '--others', '--exclude-standard', '-z').split(
    '\0',
  )) {
    if (file === '' || !existsSync(path.join(PROJECT_ROOT, file))) continue;
    mkdirSync(path.dirname(path.join(clone, file)), { recursive: true });
    cpSync(path.join(PROJECT_ROOT, file), path.join(clone, file));
  }
  git(clone, 'add', '-A');
  spawnSync(
    'git',
    ['-c', 'user.name=test', '-c', 'user.email=test@example.invalid', 'commit', '-qm', 'working tree'],
    {
      cwd: clone,
    },
  );
  const linked = spawnSync('cp', [
    '-al',
    path.join(PROJECT_ROOT, 'node_modules'),
    path.join(clone, 'node_modules'),
  ]);
  assert.equal(linked.status, 0, String(linked.stderr));
  // npm's record of the install is newer than the lock file: the README's commands install nothing.
  const now = new Date();
  utimesSync(path.join(clone, 'node_modules', '.package-lock.json'), now, now);
  return clone;
}

/** A fresh clone and the local job's commands in it. */
export class LocalClone {
  readonly parent: string;
  readonly dir: string;
  /** Where each member's server keeps its data, as `npm run local` printed it. */
  readonly dataDirs: Record<string, string> = {};

  private constructor(prefix: string) {
    this.parent = mkdtempSync(path.join(tmpdir(), prefix));
    chmodSync(this.parent, 0o700); // only root can enter, as /root
    this.dir = freshClone(this.parent);
  }

  /** A clone, once no member port of Pulumi.local.yaml is in use (hippo-south's included). */
  static async make(prefix: string): Promise<LocalClone> {
    for (const port of ALL_PORTS) {
      if (await portOpen(port))
        throw new Error(
          `port ${port} of Pulumi.local.yaml is in use: stop what runs there (npm run local:stop?)`,
        );
    }
    return new LocalClone(prefix);
  }

  /** Another clone beside it, whatever runs on the ports. */
  static beside(prefix: string): LocalClone {
    return new LocalClone(prefix);
  }

  npm(script: string, args: string[] = [], env: NodeJS.ProcessEnv = process.env) {
    const run = spawnSync('npm', ['run', '--silent', script, ...(args.length > 0 ? ['--', ...args] : [])], {
      cwd: this.dir,
      env,
      encoding: 'utf8',
      timeout: 10 * 60_000,
    });
    this.noteDataDirs(run.stdout ?? '');
    return run;
  }

  /** An npm script in the background, in a process group of its own, as a terminal runs it. */
  background(script: string): Background {
    return new Background(this.dir, script);
  }

  get localFile(): string {
    return path.join(this.dir, 'Pulumi.local.yaml');
  }

  editLocal(edit: (text: string) => string): void {
    writeFileSync(this.localFile, edit(readFileSync(this.localFile, 'utf8')));
  }

  password(): string {
    return readFileSync(path.join(this.dir, '.local', 'postgres-password'), 'utf8').trim();
  }

  noteDataDirs(stdout: string): void {
    for (const m of stdout.matchAll(/^(hippo-\S+): PostgreSQL .* data in (\S+)\)$/gm))
      this.dataDirs[m[1] ?? ''] = m[2] ?? '';
  }

  /** Stop its servers and delete everything (also without the Pulumi CLI), then the clone. */
  remove(): void {
    this.npm('local:destroy', [], { ...process.env, PATH: pathWithoutPulumi() });
    rmSync(this.parent, { recursive: true, force: true });
  }
}
