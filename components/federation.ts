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
import { ResourceRegistry } from './resourceRegistry';
import type { MemberKind } from './servers';
import type { FederationConfig } from './stackConfig';

export interface FederationArgs {
  config: FederationConfig;
  /** Admin passwords of external members, by member name (a secret from stack config). */
  passwords: pulumi.Input<Record<string, string>>;
}

export interface MemberSummary {
  kind: MemberKind;
  host: string;
  replicationHost: string;
  publication: string;
  subscriptions: string[];
}

export class Federation extends pulumi.ComponentResource {
  public readonly plan: FederationPlan;
  public readonly nodes = new Map<string, FederationNode>();
  /** Each member's tables, own partitions, publication and grants, by member name. */
  public readonly data = new Map<string, MemberData>();
  /** Landing partitions by resource name (`<member>-partition-<table>-<owner>`). */
  public readonly landings: Mesh['landings'];
  public readonly subscriptions: Mesh['subscriptions'];
  /** Per member: endpoints, publication and subscriptions (no secrets). */
  public readonly summary: Record<string, MemberSummary>;

  constructor(name: string, args: FederationArgs, opts?: pulumi.ComponentResourceOptions) {
    super('pg-federation:index:Federation', name, {}, opts);
    this.plan = plan(args.config);
    const passwords = pulumi.secret(pulumi.output(args.passwords));
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
    this.registerOutputs({ members: this.summary });
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
