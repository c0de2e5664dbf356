/**
 * What a member kind is: the config it takes and the defaults it gives, and how it provisions a
 * server. Each kind is one module (pgo.ts, external.ts); servers/index.ts lists them. Everything
 * after provisioning (schema, partitions, publication, subscriptions) is the same for every kind.
 */
import type * as pulumi from '@pulumi/pulumi';
import type { Endpoint, FederationConfig, MemberConfig } from '../config';
import type { ConnectionArgs } from '../providers/connection';

/** The member keys that belong to one kind or another (the rest apply to every kind). */
export const KIND_KEYS = [
  'namespace',
  'kubeContext',
  'postgresImage',
  'exporterImage',
  'pgbackrestImage',
  'dataStorage',
  'backupStorage',
  'passwordRotation',
  'postgresVersion',
  'serverGeneration',
] as const;
export type KindKey = (typeof KIND_KEYS)[number];

/** A member's endpoint settings as written in config, before defaults. */
export interface EndpointSettings {
  name: string;
  namespace: string;
  host?: string;
  port?: number;
  sslmode?: Endpoint['sslmode'];
  sslrootcert?: string;
  replicationHost?: string;
  replicationPort?: number;
  replicationSslmode?: Endpoint['sslmode'];
  replicationSslrootcert?: string;
}

/** What provisioning a server gives the rest of the member. */
export interface ProvisionedServer {
  /** Pulumi's admin connection, field by field (a preview keeps known fields known). */
  connection: ConnectionArgs;
  /** The admin password (secret). */
  password: pulumi.Output<string>;
  /** The CA file the @pulumi/postgresql provider reads, when the connection verifies one. */
  caPath?: pulumi.Input<string>;
  /** What must exist before anything connects to the server. */
  ready: pulumi.Resource[];
  /** Every resource the kind declared. */
  resources: pulumi.Resource[];
}

export interface ProvisionArgs {
  member: MemberConfig;
  config: FederationConfig;
  /** The parent of the member's resources. */
  parent: pulumi.ComponentResource;
  /** The Federation: parent of what members share (a Kubernetes provider per context). */
  federation: pulumi.ComponentResource;
  /** Admin passwords from stack config (a secret), by member name. */
  passwords: pulumi.Output<Record<string, string>>;
  /** A cache for what members of this kind share within one federation. */
  shared: Map<string, unknown>;
  /** The member's publication: on a server, the sign that it already serves this member. */
  publication: string;
}

export interface ServerKind {
  /** The kind-specific member keys this kind accepts. */
  ownKeys: readonly KindKey[];
  /** Check what only this kind requires; each problem as `<key>: <what and how to fix>`. */
  validate(settings: EndpointSettings): string[];
  /** The admin and replication endpoints, defaults filled in. */
  endpoints(settings: EndpointSettings): { admin: Endpoint; replication: Endpoint };
  /** How `get_node_name()` knows the member's name: PGO's pgnodemx labels, or the name itself. */
  nodeName(config: Pick<FederationConfig, 'monitoring'>): 'pgnodemx' | 'static';
  /** Declare the server (or what checks it) and say how to reach it. */
  provision(name: string, args: ProvisionArgs): ProvisionedServer;
}
