/**
 * The Pulumi CLI on the local stack, as the local job runs it: in a process group of its own, so a
 * terminal's Ctrl-C reaches this job only, which passes it on exactly once per press (npm also
 * forwards the terminal's signal: one press can arrive twice). The first asks Pulumi to stop
 * gracefully — it finishes and records the steps under way — and the job waits, saying so; a
 * second stops Pulumi at once; a third kills it. What an interrupted run can leave (a lock, pending
 * operations, a state file cut short) is found before each run and cleared by `npm run local:repair`.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { alive, killTree } from './embedded/processTree';
import { STATE_DIR, WORKSPACE_DIR, localStackEnv } from './localStack';
import { LOCAL_STACK } from './localServers';

export interface LocalRun {
  code: number;
  /** Ctrl-C presses while it ran (0: none). */
  interrupts: number;
  /** Standard output and error, interleaved as they came. */
  output: string;
  stdout: string;
}

/** A debounce of signals: npm passes the terminal's SIGINT on, so one press may come twice. */
const SAME_PRESS_MS = 100;

/**
 * Run `pulumi <args> --stack local` in the local workspace; its output goes through as it comes.
 * With `quiet`, the output is only returned.
 */
export function runLocalPulumi(args: string[], opts: { quiet?: boolean } = {}): Promise<LocalRun> {
  const child = spawn('pulumi', [...args, '--stack', LOCAL_STACK], {
    cwd: WORKSPACE_DIR,
    env: { ...process.env, ...localStackEnv() },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let stdout = '';
  const echo = (stream: NodeJS.WriteStream) => (d: Buffer) => {
    output += d.toString();
    if (stream === process.stdout) stdout += d.toString();
    if (opts.quiet !== true) stream.write(d);
  };
  child.stdout.on('data', echo(process.stdout));
  child.stderr.on('data', echo(process.stderr));
  let interrupts = 0;
  let last = 0;
  const onSignal = () => {
    const now = Date.now();
    if (now - last < SAME_PRESS_MS || child.pid === undefined) return;
    last = now;
    interrupts += 1;
    if (interrupts === 1) {
      console.error(
        '\npg-federation: stopping: pulumi finishes the steps under way and records them (Ctrl-C again to stop at once)',
      );
      process.kill(child.pid, 'SIGINT');
    } else if (interrupts === 2) {
      console.error('\npg-federation: stopping at once (Ctrl-C again to kill pulumi)');
      process.kill(child.pid, 'SIGINT'); // Pulumi's own second Ctrl-C: it exits without waiting
    } else {
      killTree(child.pid);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve({ code: code ?? 1, interrupts, output, stdout });
    });
  });
}

const STACK_FILE = path.join(STATE_DIR, '.pulumi', 'stacks', 'pg-federation', `${LOCAL_STACK}.json`);
const LOCK_DIR = path.join(STATE_DIR, '.pulumi', 'locks', 'organization', 'pg-federation', LOCAL_STACK);

interface Lock {
  file: string;
  pid: number;
  hostname: string;
  timestamp: string;
}

function locks(): Lock[] {
  if (!existsSync(LOCK_DIR)) return [];
  return readdirSync(LOCK_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => {
      const file = path.join(LOCK_DIR, f);
      try {
        const l = JSON.parse(readFileSync(file, 'utf8')) as Partial<Lock>;
        return {
          file,
          pid: Number(l.pid),
          hostname: String(l.hostname ?? ''),
          timestamp: String(l.timestamp ?? ''),
        };
      } catch {
        return { file, pid: 0, hostname: '', timestamp: '' };
      }
    });
}

/** Whether the run that holds a lock is still going (on this machine, its process alive). */
function lockLive(l: Lock): boolean {
  return l.hostname === hostname() && l.pid > 0 && alive(l.pid);
}

function readable(file: string): boolean {
  try {
    JSON.parse(readFileSync(file, 'utf8'));
    return true;
  } catch {
    return false;
  }
}

/** The pending operations the state records (an interrupted run's creates and deletes under way). */
function pendingOperations(): string[] {
  if (!existsSync(STACK_FILE) || !readable(STACK_FILE)) return [];
  const state = JSON.parse(readFileSync(STACK_FILE, 'utf8')) as {
    checkpoint?: { latest?: { pending_operations?: Array<{ type?: string; resource?: { urn?: string } }> } };
  };
  return (state.checkpoint?.latest?.pending_operations ?? []).map(
    (op) => `${op.type ?? '?'} ${op.resource?.urn?.split('::').pop() ?? '?'}`,
  );
}

/** A state file an interrupted write left empty or cut short (or its metadata sidecar). */
function damagedStateFiles(): string[] {
  return [STACK_FILE, `${STACK_FILE}.attrs`].filter(
    (f) => existsSync(f) && (statSync(f).size === 0 || !readable(f)),
  );
}

/**
 * Why the local stack cannot be run now, in one line with the fix; undefined when it can. Another
 * run still going is named by its pid; what an interrupted one left is for `npm run local:repair`.
 */
export function stackBlocked(): string | undefined {
  const held = locks();
  const live = held.find(lockLive);
  if (live !== undefined) {
    return `another run holds the local stack (pid ${live.pid}, since ${live.timestamp}): wait for it to end`;
  }
  const repair = '`npm run local:repair` clears it, then run again';
  if (held.length > 0) {
    return `a run that was interrupted (pid ${held.map((l) => l.pid).join(', ')}) left the local stack locked: ${repair}`;
  }
  const damaged = damagedStateFiles();
  if (damaged.length > 0) {
    return `an interrupted run left the local stack's state unreadable (${damaged.map((f) => path.basename(f)).join(', ')}): ${repair}`;
  }
  const pending = pendingOperations();
  if (pending.length > 0) {
    return `the last run was interrupted with ${pending.length} operation(s) under way (${pending.join(', ')}): ${repair}`;
  }
  return undefined;
}

/**
 * What local:repair does before its refresh: damaged state files set right (an empty metadata
 * sidecar removed, a cut-short state file replaced by the backend's own backup) and the lock of a
 * run that is gone removed (`pulumi cancel`). Returns what it did, in words.
 */
export async function repairStack(): Promise<string[]> {
  const done: string[] = [];
  const live = locks().find(lockLive);
  if (live !== undefined)
    throw new Error(`another run holds the local stack (pid ${live.pid}): wait for it to end`);
  for (const file of damagedStateFiles()) {
    if (file.endsWith('.attrs')) {
      rmSync(file);
      done.push(`removed ${path.basename(file)}, which an interrupted write left empty`);
    } else if (existsSync(`${file}.bak`) && readable(`${file}.bak`)) {
      renameSync(file, `${file}.damaged`);
      renameSync(`${file}.bak`, file);
      done.push(
        `replaced the cut-short ${path.basename(file)} with the backend's backup (the damaged one kept as .damaged)`,
      );
    } else {
      throw new Error(
        `${file} is damaged and there is no backup of it: \`npm run local:destroy\` starts afresh`,
      );
    }
  }
  const held = locks();
  if (held.length > 0) {
    const cancel = await runLocalPulumi(['cancel', '--yes', '--non-interactive'], { quiet: true });
    if (cancel.code !== 0) throw new Error(`pulumi cancel failed: ${cancel.output.trim()}`);
    done.push(`removed the lock of the interrupted run (pid ${held.map((l) => l.pid).join(', ')})`);
  }
  return done;
}

/** The last update's result and changes, as `pulumi stack history` records them. */
export async function lastUpdate(): Promise<
  { result: string; resourceChanges: Record<string, number> } | undefined
> {
  const run = await runLocalPulumi(['stack', 'history', '--json', '--page-size', '1'], { quiet: true });
  try {
    const [entry] = JSON.parse(run.output) as Array<{
      result: string;
      resourceChanges?: Record<string, number>;
    }>;
    return entry === undefined
      ? undefined
      : { result: entry.result, resourceChanges: entry.resourceChanges ?? {} };
  } catch {
    return undefined;
  }
}
