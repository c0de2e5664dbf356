/**
 * What parsed stack config is: the federation's settings and its members, each member resolved by its
 * kind (components/servers/<kind>.ts) on top of what every member has. Types only.
 */
import type { z } from 'zod';
import type { PartitionDeletion, SslMode } from '../enums';
import type { CommonMemberSettings, SYNCHRONOUS_COMMITS, StackSettings } from './schema';
import type { TableSpec } from './tables';

export interface Endpoint {
  host: string;
  port: number;
  sslmode: SslMode;
  /** Admin endpoint: a CA file on this machine. Replication endpoint: a CA file on the subscriber's server. */
  sslrootcert?: string;
}

/** What every member has, whatever its kind. */
export interface MemberBase {
  name: string;
  kind: string;
  /** Admin role Pulumi connects as. */
  user: string;
  /** Where Pulumi connects. */
  admin: Endpoint;
  /** Where the other members' subscriptions connect. */
  replication: Endpoint;
  /** How `get_node_name()` knows the member's name: PGO's pgnodemx labels, or its own name. */
  nodeName: 'pgnodemx' | 'static';
  /**
   * Which server the member has had (1, 2, …): a new one replaces everything on its server. Only
   * kinds whose members can move to another server (external) let config raise it.
   */
  serverGeneration: number;
  /** The WAL its server keeps for an away subscriber, in MB (`max_slot_wal_keep_size`); -1: no limit. */
  walBudgetMB: number;
}

export interface FederationConfig<M extends MemberBase = MemberBase> {
  members: M[];
  /** The federated tables, in config order. */
  tables: TableSpec[];
  /**
   * The table a stack federated before `tables` existed (config key `table`): its resources keep the
   * names they had then, through aliases.
   */
  legacyTable: string;
  /** The stack's PostgreSQL major for PGO members (each may override it). */
  postgresVersion: number;
  database: string;
  /** The login role (REPLICATION, SELECT on its member's own partitions) that subscriptions use. */
  replicationUser: string;
  schema: string;
  maxMembers: number;
  syncTimeoutSeconds: number;
  partitionDeletion: PartitionDeletion;
  /** PGO members: pgMonitor's exporter (and so pgnodemx), with the federation's own queries. */
  monitoring: boolean;
  /** PGO members with monitoring: the federation's alert rules as a PrometheusRule per namespace. */
  prometheusRule: boolean;
  /** PGO members: keep a PostgresCluster in Kubernetes when its member leaves the config. */
  retainClusters: boolean;
  lostMembers: string[];
  allowDestructiveChanges: boolean;
  /** PostgreSQL 18+: `idle_replication_slot_timeout` on every member ('0': off). */
  idleReplicationSlotTimeout: string;
  /** The subscriptions' `synchronous_commit`. */
  applySynchronousCommit: (typeof SYNCHRONOUS_COMMITS)[number];
}

/** A member as config gives it, before its kind resolves it: the common keys, and its kind's own. */
export type MemberSettings = CommonMemberSettings & Record<string, unknown>;

/**
 * What config parsing needs of a member kind. The kind declares its own member keys, checks what
 * only it requires, and fills in its defaults; config knows no kind by name.
 */
export interface KindConfig<M extends MemberBase = MemberBase> {
  /** Its own member keys (beside the common ones), with their types. */
  readonly fields: z.ZodObject;
  /** Problems only this kind has with a member, each as `<key>: <what and how to fix>`. */
  validate(member: MemberSettings, stack: StackSettings): string[];
  /** The member, its kind's defaults filled in. */
  resolve(member: MemberSettings, stack: StackSettings): M;
  /**
   * Names its members would take from each other (PGO names objects `<cluster>-<suffix>`), as
   * problems naming the member's key (`memberKey(name)`).
   */
  nameProblems?(members: M[], memberKey: (name: string) => string): string[];
}

export interface KindRegistry {
  kinds: Record<string, KindConfig>;
  /** The kind of a member that names none. */
  defaultKind: string;
}
