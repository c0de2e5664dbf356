/**
 * The fault campaign: a federation of embedded members with writers on every member, a seeded
 * schedule of operations (a member added, removed, a table's shape changed, a replication password
 * rotated, the stack destroyed and rebuilt), each struck at a random moment by a SIGKILL of the
 * `pulumi` process tree, of a member's server, or both; then the README's recovery, then every
 * convergence check (checks.ts).
 */
import { type Writers, startWriters } from '../embedded/writers';
import { query } from '../embedded/serverSet';
import { engineErrors } from '../pulumiCli';
import { dropUnrecorded, unrecordedCreates } from '../unrecordedCreates';
import { type Convergence, checkConvergence } from './checks';
import { FOUNDERS, FederationUnderTest, SPARE } from './federationUnderTest';
import { startPulumi } from './pulumiRun';
import { Random } from './random';
import { Durations, type Fault, type Operation, type Step, nextStep } from './schedule';

export interface RunResult extends Convergence {
  run: number;
  operation: Operation;
  fault: Fault;
  victim?: string;
  /** Whether the fault struck while the command ran (a command that ended first is not faulted). */
  hit: boolean;
  /** The faulted command's exit code; null when it was killed. */
  exit: number | null;
  /** How long the faulted command ran (ms), and when the fault was due (ms after its start). */
  commandMs: number;
  faultAtMs: number;
  /** The recovery commands run, in order. */
  recovery: string[];
  /** INSERTs in flight when a server died: their outcome unknown, not counted as acknowledged. */
  inFlight: number;
  /** From the fault (or the command's end) to every member holding the same rows (ms). */
  convergeMs: number;
}

export interface CampaignOptions {
  seed: number;
  runs: number;
  /** Start no run after this many minutes. */
  minutes?: number;
  major?: number;
  log?: (line: string) => void;
}

const UP = ['up', '--yes', '--skip-preview'];
const DESTROY = ['destroy', '--yes', '--skip-preview'];
const WRITE_PAUSE_MS = 100;

/** The command of an operation, its config change made first. */
async function commandOf(f: FederationUnderTest, step: Step): Promise<string[]> {
  switch (step.operation) {
    case 'add':
      f.members = [...f.members, SPARE];
      break;
    case 'remove':
      f.members = f.members.filter((m) => m !== SPARE);
      break;
    case 'shape':
      f.extraColumns += 1;
      break;
    case 'rotate':
      return [...UP, '--replace', await f.urnOf(`${step.rotated ?? ''}-replication-password`)];
    case 'destroy':
      return DESTROY;
  }
  f.writeConfig();
  return UP;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function runStep(
  f: FederationUnderTest,
  step: Step,
  run: number,
  state: { acked: Map<string, string[]>; durations: Durations },
): Promise<RunResult> {
  const writers: Writers | undefined =
    step.operation === 'destroy' ? undefined : startWriters(f.memberServers(), 'hippos', WRITE_PAUSE_MS);
  const args = await commandOf(f, step);
  const faultAt = Math.round(step.at * state.durations.expected(step.operation));
  const running = startPulumi(f.cmd, [...args, '--stack', 'chaos']);
  let hit = false;
  let finished = false;
  let restart: Promise<void> | undefined;
  let faultTime = 0;
  const struck = sleep(faultAt).then(() => {
    if (finished) return;
    hit = true;
    faultTime = Date.now();
    if (step.fault !== 'server') running.kill();
    if (step.fault !== 'pulumi' && step.victim !== undefined) {
      const victim = f.server(step.victim);
      restart = victim.crash().then(async () => {
        await sleep(step.downMs);
        await victim.start();
      });
    }
  });
  const first = await running.done;
  finished = true;
  await struck.catch(() => undefined);
  await restart;
  const from = hit ? faultTime : Date.now();
  if (!hit && first.code === 0) state.durations.record(step.operation, first.ms);

  // The README's recovery: the killed command's lock cancelled, pending creates cleared by a
  // refresh, the command run again (a member just back may refuse once: up to three tries).
  const recovery: string[] = [];
  const problems: string[] = [];
  let ok = first.code === 0;
  if (first.killed) {
    await f.run(['cancel', '--yes']);
    recovery.push('cancel');
  }
  let lastOutput = first.output;
  for (let attempt = 0; !ok && attempt < 3; attempt++) {
    // The README's one manual step: a postgresql-provider create cut short after it committed
    // left an object the state does not know (`… already exists`): dropped, then made again.
    for (const u of unrecordedCreates(lastOutput)) {
      if (![...FOUNDERS, SPARE].includes(u.member)) continue;
      await query(f.server(u.member), dropUnrecorded(u));
      recovery.push(`drop unrecorded ${u.kind} ${u.name} on ${u.member}`);
    }
    await f.run(['refresh', '--yes', '--skip-preview', '--clear-pending-creates']);
    const again = await f.run(args);
    recovery.push('refresh --clear-pending-creates', args[0] ?? '');
    ok = again.code === 0;
    lastOutput = again.output;
  }
  if (!ok)
    problems.push(`pulumi ${args[0] ?? ''} still fails: ${engineErrors(lastOutput).replace(/\n/g, ' | ')}`);

  let destroyed: Convergence | undefined;
  if (step.operation === 'destroy' && ok) {
    destroyed = await checkConvergence(f, state.acked, false);
    problems.push(...destroyed.problems.map((p) => `after destroy: ${p}`));
    const rebuilt = await f.run(UP);
    if (rebuilt.code !== 0)
      problems.push(`the rebuild failed: ${engineErrors(rebuilt.output).replace(/\n/g, ' | ')}`);
  }
  const written = await writers?.stop();
  for (const [member, ids] of written?.acked ?? []) {
    state.acked.set(member, [...(state.acked.get(member) ?? []), ...ids]);
  }
  const check = await checkConvergence(f, state.acked, true);
  return {
    ...check,
    converged: check.converged && problems.length === 0,
    orphans: [...(destroyed?.orphans ?? []), ...check.orphans],
    problems: [...problems, ...check.problems],
    run,
    operation: step.operation,
    fault: step.fault,
    ...(step.victim !== undefined ? { victim: step.victim } : {}),
    hit,
    exit: first.code,
    commandMs: first.ms,
    faultAtMs: faultAt,
    recovery,
    inFlight: [...(written?.inFlight.values() ?? [])].reduce((a, b) => a + b, 0),
    convergeMs: check.settledAt - from,
  };
}

/** Run the campaign; every run's result, in order. */
export async function runCampaign(opts: CampaignOptions): Promise<RunResult[]> {
  const log = opts.log ?? (() => undefined);
  const random = new Random(opts.seed);
  const started = Date.now();
  const f = await FederationUnderTest.start(opts.major);
  const results: RunResult[] = [];
  try {
    await f.must(UP);
    const state = { acked: new Map<string, string[]>(), durations: new Durations() };
    for (let run = 1; run <= opts.runs; run++) {
      if (opts.minutes !== undefined && Date.now() - started > opts.minutes * 60_000) {
        log(`stopping after ${run - 1} runs: the ${opts.minutes}-minute budget is spent`);
        break;
      }
      const step = nextStep(f, random);
      const result = await runStep(f, step, run, state);
      results.push(result);
      log(describe(result));
      if (!result.converged) {
        // Every later run would start from this broken federation and measure nothing of its own.
        log(`stopping after run ${run}: it did not converge, and the runs build on each other`);
        break;
      }
    }
  } finally {
    await f.stop();
  }
  return results;
}

export function describe(r: RunResult): string {
  const what = `${r.operation} × ${r.fault}${r.victim !== undefined ? ` (${r.victim})` : ''}`;
  const timing = `fault due at ${(r.faultAtMs / 1000).toFixed(1)}s, command ran ${(r.commandMs / 1000).toFixed(1)}s`;
  const how = r.hit
    ? `struck; exit ${r.exit ?? 'killed'}; recovery: ${r.recovery.join(', ') || 'none'}`
    : 'ended before the fault';
  const outcome = r.converged
    ? `converged in ${(r.convergeMs / 1000).toFixed(1)}s, ${r.rowsLost} lost, ${r.inFlight} in flight`
    : `NOT CONVERGED: ${r.problems.join('; ')}`;
  return `run ${r.run}: ${what}: ${timing}; ${how}; ${outcome}`;
}
