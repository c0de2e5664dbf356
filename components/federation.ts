/**
 * Federation: one FederationNode per member and the subscriptions between every ordered pair.
 *
 * A subscription on M to P comes after M's partition for P (the rows need somewhere to land) and
 * after P's publication (PostgreSQL 14 would accept a missing one and fail later in a loop).
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import type { FederationConfig } from './config';
import { replicationConninfo } from './endpoints';
import { FederationNode } from './member';
import { meshPlan } from './mesh';
import { Subscription } from './providers/subscription';

export interface FederationArgs {
  config: FederationConfig;
  /** Admin passwords of external members, by member name (a secret from stack config). */
  passwords: pulumi.Input<Record<string, string>>;
}

export interface MemberSummary {
  kind: 'pgo' | 'external';
  host: string;
  replicationHost: string;
  publication: string;
  subscriptions: string[];
}

export class Federation extends pulumi.ComponentResource {
  public readonly nodes = new Map<string, FederationNode>();
  public readonly subscriptions = new Map<string, Subscription>();
  public readonly k8sProviders = new Map<string, k8s.Provider>();
  /** Per member: endpoints, publication and subscriptions (no secrets). */
  public readonly summary: Record<string, MemberSummary>;

  constructor(name: string, args: FederationArgs, opts?: pulumi.ComponentResourceOptions) {
    super('pg-federation:index:Federation', name, {}, opts);
    const { config } = args;
    const plan = meshPlan(config);
    const passwords = pulumi.secret(pulumi.output(args.passwords));

    for (const member of config.members) {
      let k8sProvider: k8s.Provider | undefined;
      if (member.kind === 'pgo' && member.kubeContext !== undefined) {
        k8sProvider = this.k8sProviders.get(member.kubeContext);
        if (k8sProvider === undefined) {
          k8sProvider = new k8s.Provider(
            `k8s-${member.kubeContext}`,
            { context: member.kubeContext },
            { parent: this },
          );
          this.k8sProviders.set(member.kubeContext, k8sProvider);
        }
      }
      this.nodes.set(
        member.name,
        new FederationNode(
          member.name,
          {
            member,
            config,
            ...(member.kind === 'external'
              ? { adminPassword: passwords.apply((p) => p[member.name] ?? '') }
              : {}),
            ...(k8sProvider !== undefined ? { k8sProvider } : {}),
          },
          { parent: this },
        ),
      );
    }

    for (const sub of plan.subscriptions) {
      const subscriber = this.node(sub.subscriber);
      const publisher = this.node(sub.publisher);
      const landing = subscriber.partitions.get(sub.publisher);
      if (landing === undefined) throw new Error(`no partition for ${sub.publisher} on ${sub.subscriber}`);
      this.subscriptions.set(
        sub.resourceName,
        new Subscription(
          sub.resourceName,
          {
            subscriber: sub.subscriber,
            publisher: sub.publisher,
            connection: subscriber.connection,
            publisherConnection: publisher.connection,
            conninfo: publisher.replicationPassword.apply((pw) =>
              replicationConninfo(publisher.member, config.database, publisher.replicationUser, pw),
            ),
            name: sub.name,
            publication: sub.publication,
            slotName: sub.slotName,
            syncTimeoutSeconds: config.syncTimeoutSeconds,
          },
          { parent: subscriber, dependsOn: [landing, publisher.publication, publisher.replicationGrant] },
        ),
      );
    }

    this.summary = Object.fromEntries(
      config.members.map((m) => [
        m.name,
        {
          kind: m.kind,
          host: m.admin.host,
          replicationHost: m.replication.host,
          publication: this.node(m.name).publicationName,
          subscriptions: plan.subscriptions.filter((s) => s.subscriber === m.name).map((s) => s.name),
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
