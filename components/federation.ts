/**
 * Federation: the plan (components/plan.ts) made resources. One FederationNode per member; then what
 * joins two members: every member's partition of every other member's rows (a landing), and the
 * subscriptions between every ordered pair.
 *
 * A landing on S for P's rows comes after S's table, and after P's own partition and the grant that
 * lets the replication role read it (a landing added to a running subscription is copied at once).
 * A subscription on S to P comes after S's landings for P and after P's publication and grants
 * (PostgreSQL 14 would accept a missing publication and fail later in a loop).
 */
import * as pulumi from '@pulumi/pulumi';
import type { FederationConfig } from './config';
import { FederationNode } from './federationNode';
import { type FederationPlan, plan } from './plan';
import type { Partition } from './providers/partition';
import { Subscription } from './providers/subscription';
import type { MemberKind } from './servers';

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
  /** Landing partitions by resource name (`<member>-partition-<table>-<owner>`). */
  public readonly landings = new Map<string, Partition>();
  public readonly subscriptions = new Map<string, Subscription>();
  /** Per member: endpoints, publication and subscriptions (no secrets). */
  public readonly summary: Record<string, MemberSummary>;

  constructor(name: string, args: FederationArgs, opts?: pulumi.ComponentResourceOptions) {
    super('pg-federation:index:Federation', name, {}, opts);
    const { config } = args;
    this.plan = plan(config);
    const passwords = pulumi.secret(pulumi.output(args.passwords));
    const shared = new Map<string, unknown>();

    for (const mp of this.plan.members) {
      this.nodes.set(
        mp.member.name,
        new FederationNode(
          mp.member.name,
          { plan: mp, config, federation: this, passwords, shared },
          { parent: this },
        ),
      );
    }

    // Each member's data, once every member's server (and so every peer to restore from) is known.
    const nodes = [...this.nodes.values()];
    for (const node of nodes)
      node.declareData(
        config,
        nodes.filter((peer) => peer !== node),
      );

    for (const mp of this.plan.members) {
      const holder = this.node(mp.member.name);
      for (const p of mp.partitions.filter((x) => x.owner !== x.member)) {
        const owner = this.node(p.owner);
        const reads = [owner.ownPartitions.get(p.table), owner.grants.get(p.table)];
        this.landings.set(
          p.resourceName,
          holder.partition(
            p,
            config,
            { parent: holder },
            {
              publisherConnection: owner.connectionArgs,
              dependsOn: reads.filter((r): r is NonNullable<typeof r> => r !== undefined),
            },
          ),
        );
      }
    }

    for (const sub of this.plan.subscriptions) {
      const subscriber = this.node(sub.subscriber);
      const publisher = this.node(sub.publisher);
      const landings = this.plan.members
        .flatMap((m) => m.partitions)
        .filter((p) => p.member === sub.subscriber && p.owner === sub.publisher)
        .map((p) => this.landings.get(p.resourceName))
        .filter((p): p is Partition => p !== undefined);
      this.subscriptions.set(
        sub.resourceName,
        new Subscription(
          sub.resourceName,
          {
            subscriber: sub.subscriber,
            publisher: sub.publisher,
            connection: subscriber.connectionArgs,
            publisherConnection: publisher.connectionArgs,
            conninfo: publisher.replicationConninfo(config),
            name: sub.name,
            publication: sub.publication,
            slotName: sub.slotName,
            syncTimeoutSeconds: config.syncTimeoutSeconds,
            landings: sub.landings,
          },
          {
            parent: subscriber,
            dependsOn: [...landings, publisher.publication, ...publisher.grants.values()],
            // Either end on a new server: a new subscription (its slot name is taken until the old one goes).
            replacementTrigger: `${subscriber.member.serverGeneration}:${publisher.member.serverGeneration}`,
            deleteBeforeReplace: true,
          },
        ),
      );
    }

    this.summary = Object.fromEntries(
      this.plan.members.map((m) => [
        m.member.name,
        {
          kind: m.member.kind,
          host: m.member.admin.host,
          replicationHost: m.member.replication.host,
          publication: m.publication.name,
          subscriptions: m.subscriptions.map((s) => s.name),
        },
      ]),
    );
    this.registerOutputs({ members: this.summary });
  }

  private node(name: string): FederationNode {
    const node = this.nodes.get(name);
    if (node === undefined) throw new Error(`no member named ${name}`);
    return node;
  }
}
