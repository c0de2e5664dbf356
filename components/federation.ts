/**
 * Federation: the plan (components/plan/) made resources, in steps that each return a record (as
 * pulumi-eks builds a cluster):
 *   1. a FederationNode per member: its server, Pulumi's connection, get_node_name(), its
 *      replication role (federationNode.ts);
 *   2. each member's data, once every member's node exists (an own partition may be restored from
 *      the peers): tables, own partitions, publication, grants (memberData.ts);
 *   3. the mesh: every landing and every subscription (mesh.ts).
 * Every dependency is the plan's; the registry turns its names into resources.
 */
import * as pulumi from '@pulumi/pulumi';
import { FederationNode } from './federationNode';
import { type MemberData, dataResources, declareMemberData, liveValues } from './memberData';
import { type Mesh, declareMesh } from './mesh';
import { type FederationPlan, plan } from './plan';
import { policyViewOutput } from './policyView';
import { skipMappingPromiseStacks } from './providers/promiseStacks';
import { ResourceRegistry } from './resourceRegistry';
import type { MemberKind } from './servers';
import {
  type FederationConfig,
  type FederationSettings,
  type MemberPasswords,
  parseSettings,
} from './settings';

/**
 * The federation's settings, with the same keys, types, defaults and error messages as stack
 * config's `pg-federation:` namespace (README.md's config reference), and external members' admin
 * passwords by member name (each may be a secret Output; the federation keeps them secret).
 */
export type FederationArgs = FederationSettings & { passwords?: MemberPasswords };

/** Settings already parsed (`parseFederationConfig`, `loadConfig`), as this repository's program passes them. */
export interface ParsedFederationArgs {
  config: FederationConfig;
  passwords?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

function parsedArgs(args: FederationArgs | ParsedFederationArgs): ParsedFederationArgs {
  if ('config' in args) return args;
  const { passwords = {}, ...settings } = args;
  return { config: parseSettings(settings, passwords), passwords };
}

export interface MemberSummary {
  kind: MemberKind;
  host: string;
  replicationHost: string;
  publication: string;
  subscriptions: string[];
}

export class Federation extends pulumi.ComponentResource {
  /** The settings as parsed and defaulted. */
  public readonly config: FederationConfig;
  public readonly plan: FederationPlan;
  public readonly nodes = new Map<string, FederationNode>();
  /** Each member's tables, own partitions, publication and grants, by member name. */
  public readonly data = new Map<string, MemberData>();
  /** Landing partitions by resource name (`<member>-partition-<table>-<owner>`). */
  public readonly landings: Mesh['landings'];
  public readonly subscriptions: Mesh['subscriptions'];
  /** Per member: endpoints, publication and subscriptions (no secrets). */
  public readonly summary: Record<string, MemberSummary>;

  constructor(
    name: string,
    args: FederationArgs | ParsedFederationArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    // Settings are checked before anything registers: a bad one fails the preview, all at once.
    const parsed = parsedArgs(args);
    // Before the first registration: the SDK's promise stacks stay unmapped (promiseStacks.ts).
    skipMappingPromiseStacks();
    super('pg-federation:index:Federation', name, {}, opts);
    this.config = parsed.config;
    this.plan = plan(parsed.config);
    const passwords = pulumi.secret(pulumi.output(parsed.passwords ?? {})) as pulumi.Output<
      Record<string, string>
    >;
    const shared = new Map<string, unknown>();
    const registry = new ResourceRegistry();

    for (const mp of this.plan.members) {
      const node = new FederationNode(
        mp.member.name,
        { plan: mp, federation: this, passwords, shared },
        { parent: this },
      );
      this.nodes.set(mp.member.name, node);
      registry.add(mp.nodeNameFunction.resourceName, node.nodeNameFunction);
      registry.add(mp.replicationRole.resourceName, node.replicationRole);
    }
    const live = liveValues(this.nodes);
    for (const node of this.nodes.values()) {
      this.data.set(node.member.name, declareMemberData(node, live, registry));
    }
    const mesh = declareMesh(this.plan, this.nodes, registry);
    this.landings = mesh.landings;
    this.subscriptions = mesh.subscriptions;

    this.summary = Object.fromEntries(
      this.plan.members.map((m) => [
        m.member.name,
        {
          kind: m.member.kind,
          host: m.member.admin.host,
          replicationHost: m.member.replication.host,
          publication: m.publication.inputs.name,
          subscriptions: m.subscriptions.map((s) => s.inputs.name),
        },
      ]),
    );
    // What the policy pack (policy/) reads: no secret, and no step changes with it.
    this.registerOutputs({ members: this.summary, policy: policyViewOutput(this.config) });
  }

  /** Every resource the federation declared (for tests and the benchmark, which wait for them). */
  resources(): pulumi.Resource[] {
    return [
      ...[...this.nodes.values()].flatMap((n) => [
        n,
        n.provider,
        n.nodeNameFunction,
        n.replicationRole,
        ...(n.extension !== undefined ? [n.extension] : []),
        ...n.server.resources,
      ]),
      ...[...this.data.values()].flatMap(dataResources),
      ...this.landings.values(),
      ...this.subscriptions.values(),
    ];
  }
}
