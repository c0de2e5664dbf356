/**
 * What a member kind is: the config it takes and the defaults it gives (`KindConfig`, what config
 * parsing needs), the record of its server's resources that the plan holds, and how it declares
 * them. Each kind is one module (pgo.ts, external.ts); servers/index.ts lists them. Everything after
 * provisioning (schema, partitions, publication, subscriptions) is the same for every kind.
 */
import type * as pulumi from '@pulumi/pulumi';
import type { KindConfig, MemberBase } from '../config/types';
import type { ConnectionArgs } from '../providers/connection';

/** What of the federation a kind's server plan depends on. */
export interface ServerContext {
  database: string;
  /** Members in the federation today. */
  members: number;
  /** Mesh capacity the replication settings are sized for (`maxMembers`). */
  maxMembers: number;
  /** PGO members: pgMonitor's exporter, with the federation's own queries (components/monitoring/). */
  monitoring: boolean;
  /** PGO members with monitoring: the alert rules as a PrometheusRule in the member's namespace. */
  prometheusRule: boolean;
  /** The federated tables (the monitoring queries count rows per partition of each). */
  tables: Array<{ schema: string; name: string }>;
  retainClusters: boolean;
  /** The member's publication: on a server, the sign that it already serves this member. */
  publication: string;
  /**
   * The logical slots on the member's server its kind must keep through a failover itself (PGO:
   * Patroni's permanent slots): its subscribers' that cannot use PostgreSQL 17's failover slots.
   */
  permanentSlots: string[];
  /** PostgreSQL 18+: `idle_replication_slot_timeout` ('0': off). */
  idleReplicationSlotTimeout: string;
}

/** What provisioning a server gives the rest of the member. */
export interface ProvisionedServer {
  /** Pulumi's admin connection, field by field (a preview keeps known fields known). */
  connection: ConnectionArgs;
  /** The admin password (secret). */
  password: pulumi.Output<string>;
  /** The PostgreSQL major the server runs (as config says, or as its preflight found it). */
  major: pulumi.Input<number>;
  /** The CA file the @pulumi/postgresql provider reads, when the connection verifies one. */
  caPath?: pulumi.Input<string>;
  /** What must exist before anything connects to the server. */
  ready: pulumi.Resource[];
  /** Every resource the kind declared. */
  resources: pulumi.Resource[];
}

/** What provisioning needs that is not plain data. */
export interface ProvisionArgs {
  /** The parent of the member's resources. */
  parent: pulumi.ComponentResource;
  /** The Federation: parent of what members share (a Kubernetes provider per context). */
  federation: pulumi.ComponentResource;
  /** Admin passwords from stack config (a secret), by member name. */
  passwords: pulumi.Output<Record<string, string>>;
  /** A cache for what members of this kind share within one federation. */
  shared: Map<string, unknown>;
}

export interface ServerKind<M extends MemberBase, P> extends KindConfig<M> {
  /** The inputs of its server's resources, decided once (the plan holds them). */
  planServer(member: M, context: ServerContext): P;
  /** Declare the server (or what checks it) and say how to reach it. */
  provision(name: string, plan: P, args: ProvisionArgs): ProvisionedServer;
}
