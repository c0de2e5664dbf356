/**
 * What each run of the campaign does: an operation valid for the federation as it stands, a fault,
 * its victim and its moment, all drawn from the seed.
 */
import type { FederationUnderTest } from './federationUnderTest';
import { SPARE } from './federationUnderTest';
import type { Random } from './random';

export const OPERATIONS = ['add', 'remove', 'shape', 'rotate', 'destroy'] as const;
export type Operation = (typeof OPERATIONS)[number];

/** SIGKILL the `pulumi` process tree, or every process of a member's server, or both at once. */
export const FAULTS = ['pulumi', 'server', 'both'] as const;
export type Fault = (typeof FAULTS)[number];

export interface Step {
  operation: Operation;
  fault: Fault;
  /** The member whose server is killed (server and both). */
  victim?: string;
  /** For a rotation: the member whose replication password is replaced. */
  rotated?: string;
  /** When the fault strikes, as a fraction of the operation's expected duration. */
  at: number;
  /** How long a killed server stays down before its supervisor starts it again (ms). */
  downMs: number;
}

/** The operations valid now: the spare joins only when out, leaves only when in. */
export function validOperations(f: FederationUnderTest): Operation[] {
  return OPERATIONS.filter((op) =>
    op === 'add' ? !f.members.includes(SPARE) : op === 'remove' ? f.members.includes(SPARE) : true,
  );
}

export function nextStep(f: FederationUnderTest, random: Random): Step {
  // A destroy is followed by a rebuild: drawn half as often as the others.
  const ops = validOperations(f).flatMap((op) => (op === 'destroy' ? [op] : [op, op]));
  const operation = random.pick(ops);
  const fault = random.pick(FAULTS);
  const candidates = operation === 'add' ? [...f.members, SPARE] : f.members;
  return {
    operation,
    fault,
    ...(fault !== 'pulumi' ? { victim: random.pick(candidates) } : {}),
    ...(operation === 'rotate' ? { rotated: random.pick(f.members) } : {}),
    at: 0.05 + 0.9 * random.next(),
    downMs: random.int(500, 4000),
  };
}

/**
 * Each operation's expected duration (ms): a first guess (measured here on 2 cores, 2026-12-02),
 * then the mean of its runs that ended before their fault.
 */
export class Durations {
  private readonly seen = new Map<Operation, number[]>();
  private static readonly GUESS: Record<Operation, number> = {
    add: 10_000,
    remove: 6_000,
    shape: 8_000,
    rotate: 8_000,
    destroy: 6_000,
  };

  expected(op: Operation): number {
    const runs = this.seen.get(op) ?? [];
    return runs.length === 0 ? Durations.GUESS[op] : runs.reduce((a, b) => a + b, 0) / runs.length;
  }

  record(op: Operation, ms: number): void {
    this.seen.set(op, [...(this.seen.get(op) ?? []), ms]);
  }
}
