/**
 * What the policy pack (policy/) sees of a federation: a small record with no secret, registered as
 * the Federation component's output `policy`, which a stack policy reads in `pulumi preview` (a
 * component's registered outputs are in the engine's new state before the policies run; a change
 * of them changes no step, so no change summary moves).
 *
 * Most of it is the parsed config. What a member leaving takes with it is not: the engine gives a
 * policy the resources the program declares now, never the ones it is about to delete. So the
 * program reads the stack's last deployment itself (the engine's builtin invokes a stack reference
 * uses) and records, for each member that had its own partitions there and is no longer in config,
 * which members that stay held a copy of each: a landing of its partition and a subscription to it,
 * both in the state (a subscription's create returns only once its initial copy is done).
 */
import * as pulumi from '@pulumi/pulumi';
import type { PartitionDeletion, SslMode } from './enums';
import type { FederationConfig } from './config/types';

/** Bumped whenever a field changes meaning, so an older pack can tell it reads another view. */
export const POLICY_VIEW_VERSION = 1;

export interface PolicyViewMember {
  name: string;
  kind: string;
  /** Pulumi's connection to the member. */
  sslmode: SslMode;
  /** The other members' subscriptions to it. */
  replicationSslmode: SslMode;
}

/** A member the last deployment had (it owned partitions) that config no longer lists. */
export interface Departure {
  member: string;
  /** Listed in `lostMembers`: its server is gone for good. */
  lost: boolean;
  /** Per table it owned a partition of: the members that stay and hold a copy of it. */
  tables: Array<{ table: string; copiesOn: string[] }>;
}

export interface PolicyView {
  version: typeof POLICY_VIEW_VERSION;
  members: PolicyViewMember[];
  retainClusters: boolean;
  partitionDeletion: PartitionDeletion;
  allowDestructiveChanges: boolean;
  lostMembers: string[];
  /**
   * `read`: the stack's last deployment was read, and `departures` is what it shows. `no member
   * left`: its recorded `members` output names no member config lacks, so it was not read further.
   * `none`: the stack records no deployment (or a program that exports no output). Otherwise why it
   * could not be read.
   */
  lastDeployment: string;
  departures: Departure[];
}

/** What the policy view needs of a stack's last deployment: its partitions and subscriptions. */
export interface RecordedFederation {
  partitions: Array<{ member: string; owner: string; table: string }>;
  subscriptions: Array<{ subscriber: string; publisher: string }>;
}

export function departures(cfg: FederationConfig, last: RecordedFederation): Departure[] {
  const staying = new Set(cfg.members.map((m) => m.name));
  const leaving = [
    ...new Set(
      last.partitions.filter((p) => p.member === p.owner && !staying.has(p.owner)).map((p) => p.owner),
    ),
  ].sort();
  return leaving.map((member) => {
    const subscribers = new Set(
      last.subscriptions.filter((s) => s.publisher === member).map((s) => s.subscriber),
    );
    const tables = [
      ...new Set(
        last.partitions.filter((p) => p.member === member && p.owner === member).map((p) => p.table),
      ),
    ].sort();
    return {
      member,
      lost: cfg.lostMembers.includes(member),
      tables: tables.map((table) => ({
        table,
        copiesOn: last.partitions
          .filter(
            (p) =>
              p.owner === member &&
              p.table === table &&
              p.member !== member &&
              staying.has(p.member) &&
              subscribers.has(p.member),
          )
          .map((p) => p.member)
          .sort(),
      })),
    };
  });
}

/** The view of a federation's config, and of what its last deployment shows (undefined: none read). */
export function policyView(
  cfg: FederationConfig,
  last: RecordedFederation | undefined,
  lastDeployment = last === undefined ? 'none' : 'read',
): PolicyView {
  return {
    version: POLICY_VIEW_VERSION,
    members: cfg.members.map((m) => ({
      name: m.name,
      kind: m.kind,
      sslmode: m.admin.sslmode,
      replicationSslmode: m.replication.sslmode,
    })),
    retainClusters: cfg.retainClusters,
    partitionDeletion: cfg.partitionDeletion,
    allowDestructiveChanges: cfg.allowDestructiveChanges,
    lostMembers: [...cfg.lostMembers],
    lastDeployment,
    departures: last === undefined ? [] : departures(cfg, last),
  };
}

const PARTITION_TYPE = 'pulumi-nodejs:dynamic/pg-federation:Partition';
const SUBSCRIPTION_TYPE = 'pulumi-nodejs:dynamic/pg-federation:Subscription';

/** The partitions and subscriptions of a stack's resource outputs (`readStackResourceOutputs`). */
export function recordedFederation(
  resources: Record<string, { type?: unknown; outputs?: Record<string, unknown> }>,
): RecordedFederation {
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  const recorded: RecordedFederation = { partitions: [], subscriptions: [] };
  for (const r of Object.values(resources)) {
    const o = r.outputs ?? {};
    if (r.type === PARTITION_TYPE) {
      recorded.partitions.push({ member: text(o.member), owner: text(o.owner), table: text(o.table) });
    } else if (r.type === SUBSCRIPTION_TYPE) {
      recorded.subscriptions.push({ subscriber: text(o.subscriber), publisher: text(o.publisher) });
    }
  }
  return recorded;
}

/**
 * Whether a member of the last deployment may have left: its stack outputs name the members it had
 * in `members` (this repository's program exports the federation's summary so), and every one is
 * still in config, or they do not (another program's outputs) and only its resources can tell.
 */
export function someMemberMayHaveLeft(outputs: Record<string, unknown>, members: string[]): boolean {
  const recorded = outputs.members;
  if (typeof recorded !== 'object' || recorded === null || Array.isArray(recorded)) return true;
  return Object.keys(recorded).some((name) => !members.includes(name));
}

/**
 * The stack's last deployment, read through the engine's builtin provider, as a stack reference to
 * itself: its outputs first (empty for a stack never deployed, where the engine cannot list
 * resources), then, only when a member may have left (each read costs the engine a load of the
 * state), its resources' outputs. Never fails: a backend that cannot answer is a reason.
 */
export async function readLastDeployment(
  members: string[],
): Promise<{ last?: RecordedFederation; lastDeployment: string }> {
  try {
    const self = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
    const stack = (await pulumi.runtime.invoke('pulumi:pulumi:readStackOutputs', { name: self })) as {
      outputs?: Record<string, unknown>;
    };
    const outputs = stack.outputs ?? {};
    if (Object.keys(outputs).length === 0) return { lastDeployment: 'none' };
    if (!someMemberMayHaveLeft(outputs, members)) return { lastDeployment: 'no member left' };
    const resources = (await pulumi.runtime.invoke('pulumi:pulumi:readStackResourceOutputs', {
      stackName: self,
    })) as { outputs?: Record<string, { type?: unknown; outputs?: Record<string, unknown> }> };
    return { last: recordedFederation(resources.outputs ?? {}), lastDeployment: 'read' };
  } catch (err) {
    return { lastDeployment: `unreadable: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** The view as an output of the Federation component. */
export function policyViewOutput(cfg: FederationConfig): pulumi.Output<PolicyView> {
  return pulumi
    .output(readLastDeployment(cfg.members.map((m) => m.name)))
    .apply(({ last, lastDeployment }) => policyView(cfg, last, lastDeployment));
}
