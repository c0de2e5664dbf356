/**
 * The Pulumi CLI run as a user runs it, in a process the campaign can kill whole (the CLI, its
 * language host, the program and every provider plugin) at a chosen moment.
 */
import { spawn } from 'node:child_process';
import { killTree } from '../embedded/processTree';

export interface PulumiRun {
  args: string[];
  /** The exit code; null when killed. */
  code: number | null;
  /** Whether the campaign killed it. */
  killed: boolean;
  /** Its standard output and error, interleaved. */
  output: string;
  stdout: string;
  ms: number;
}

export interface PulumiCommand {
  cwd: string;
  env: Record<string, string>;
}

/** A running CLI command: `kill()` SIGKILLs its whole process tree; `done` settles when it ends. */
export interface RunningPulumi {
  kill(): number;
  done: Promise<PulumiRun>;
}

export function startPulumi(cmd: PulumiCommand, args: string[], input?: string): RunningPulumi {
  const started = Date.now();
  const child = spawn('pulumi', [...args, '--non-interactive', '--color', 'never'], {
    cwd: cmd.cwd,
    env: { ...process.env, ...cmd.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  let stdout = '';
  let killed = false;
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString();
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  child.stdin.end(input ?? '');
  const done = new Promise<PulumiRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ args, code: killed ? null : code, killed, output, stdout, ms: Date.now() - started }),
    );
  });
  return {
    kill: () => {
      if (child.pid === undefined || child.exitCode !== null) return 0;
      killed = true;
      return killTree(child.pid).length;
    },
    done,
  };
}

/** Run a CLI command to its end. */
export function pulumi(cmd: PulumiCommand, args: string[], input?: string): Promise<PulumiRun> {
  return startPulumi(cmd, args, input).done;
}
