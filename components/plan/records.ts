/**
 * The plan's records: for every resource of the federation, its complete inputs but for live values
 * (connections, passwords, a CA read from the cluster), its name, what it comes after and what
 * replaces it. The components map records to resources; the engine-less driver (scripts/embedded/),
 * the local job, status and bench read the same records. Types only.
 */
import type { FederatedTableInputs } from '../providers/federatedTable';
import type { PartitionInputs } from '../providers/partition';
import type { SubscriptionInputs } from '../providers/subscription';
import type { MemberConfig, ServerPlan } from '../servers';

export interface ResourceRecord<I> {
  /** The Pulumi resource name (unique in the federation). */
  resourceName: string;
  inputs: I;
  /** Names of the plan's resources it is declared after. */
  dependsOn: string[];
  /** The names it had in older releases. */
  aliases: string[];
  /** A new value replaces it: the generation of the server it lives on. */
  replacementTrigger: number | string;
}

/** @pulumi/postgresql's Provider: Pulumi's admin connection (the password and CA file come later). */
export interface ProviderInputs {
  host: string;
  port: number;
  database: string;
  username: string;
  sslmode: string;
  superuser: boolean;
  connectTimeout: number;
}

export interface ExtensionInputs {
  name: string;
  database: string;
}

/** `get_node_name()`, as @pulumi/postgresql's Function declares it. */
export interface FunctionInputs {
  name: string;
  schema: string;
  database: string;
  returns: string;
  language: string;
  volatility: string;
  securityDefiner: boolean;
  body: string;
}

/** The replication role (its password comes from a RandomPassword). */
export interface RoleInputs {
  name: string;
  login: boolean;
  replication: boolean;
}

export interface PublicationInputs {
  name: string;
  database: string;
  /** `schema.partition` of the member's own partitions. */
  tables: string[];
}

export interface GrantInputs {
  database: string;
  role: string;
  schema: string;
  objectType: string;
  /** The member's own partitions the role may read. */
  objects: string[];
  privileges: string[];
}

/** A federated table on a member; `peers` are the members whose connections it gets. */
export interface TableRecord extends ResourceRecord<Omit<FederatedTableInputs, 'connection' | 'peers'>> {
  peers: string[];
}

/**
 * A partition on a member's server: its own (with the peers it may be restored from) or a landing of
 * another member's rows (with that owner, whose publication it checks before a resync).
 */
export interface PartitionRecord extends ResourceRecord<
  Omit<PartitionInputs, 'connection' | 'publisherConnection' | 'restoreFrom'>
> {
  /** A landing: its owner, whose admin connection it gets. */
  publisher?: string;
  /** An own partition: the peers whose copies restore it. */
  restoreFrom: string[];
}

/** A subscription; its connections, the publisher's replication conninfo and failover come later. */
export interface SubscriptionRecord extends ResourceRecord<
  Omit<SubscriptionInputs, 'connection' | 'publisherConnection' | 'conninfo' | 'failover'>
> {
  /** It uses a failover slot where both servers run PostgreSQL 17+ (plan/index.ts, failoverEligible). */
  failoverWhen17: boolean;
}

export interface MemberPlan {
  member: MemberConfig;
  /** Its server's resources, by its kind. */
  server: ServerPlan;
  /** Pulumi's admin connection to it (a @pulumi/postgresql provider named after the member). */
  provider: ResourceRecord<ProviderInputs>;
  /** pgnodemx, on PGO members with monitoring. */
  extension?: ResourceRecord<ExtensionInputs>;
  nodeNameFunction: ResourceRecord<FunctionInputs>;
  /** The role the other members' subscriptions log in as, and its generated password. */
  replicationPassword: { resourceName: string; length: number; special: boolean };
  replicationRole: ResourceRecord<RoleInputs>;
  tables: TableRecord[];
  /** Its own partition of every table. */
  ownPartitions: PartitionRecord[];
  publication: ResourceRecord<PublicationInputs> & { ignoreChanges: string[] };
  /** SELECT on its own partition of each table, for the replication role. */
  grants: Array<ResourceRecord<GrantInputs> & { table: string }>;
  /** Every other member's partition of every table, on this member's server. */
  landings: PartitionRecord[];
  /** Its subscription to every other member. */
  subscriptions: SubscriptionRecord[];
}

export interface FederationPlan {
  members: MemberPlan[];
  /** Every member's subscriptions. */
  subscriptions: SubscriptionRecord[];
}
