/** What `npm run status` reads from every member and what it judges. Types only. */
import type { TableSpec } from '../../components/config/tables';
import type { PgConnection } from '../../components/providers/connection';

/** A subscription of the mesh, as the plan names it. */
export interface Subscription {
  subscriber: string;
  publisher: string;
  name: string;
  slotName: string;
  /** The Pulumi resource (`<subscriber>-sub-<publisher>`), for the command that replaces it. */
  resourceName?: string;
  /** Its URN, when the stack was read (`--stack`). */
  urn?: string;
}

export interface MemberEndpoint {
  name: string;
  connection: PgConnection;
}

export interface TableRef {
  schema: string;
  name: string;
  /** The declared shape (from the stack's config), compared with each member's table. */
  spec?: TableSpec;
}

export interface PairStatus {
  subscriber: string;
  publisher: string;
  subscription: string;
  enabled: boolean | null;
  workerRunning: boolean | null;
  /** pg_subscription_rel states, e.g. "r" when every table is ready. */
  syncState: string | null;
  lastMessage: string | null;
  lagBytes: number | null;
  slotActive: boolean | null;
  /** The slot's `wal_status` on the publisher: reserved, extended, unreserved, lost. */
  walStatus: string | null;
  /** The WAL the slot keeps on its publisher (from its restart_lsn). */
  retainedBytes: number | null;
  /** The publisher's WAL budget (`max_slot_wal_keep_size`); null: unbounded. */
  budgetBytes: number | null;
  /** A failover slot (PostgreSQL 17+): the publisher's standbys keep it in step. */
  failoverSlot: boolean | null;
  /** `at-risk`: the slot will be lost if its subscriber stays away (it nears its WAL budget). */
  status: 'ok' | 'lagging' | 'at-risk' | 'broken' | 'unknown';
  problem?: string;
  /** The one command (or step) that repairs it. */
  fix?: string;
}

export interface CopyStatus {
  table: string;
  owner: string;
  holder: string;
  partition: string | null;
  rows: number | null;
  hash: string | null;
  status: 'ok' | 'behind' | 'diverges' | 'missing' | 'unknown';
  problem?: string;
  /** For a copy that diverges: the command that re-copies it from its owner. */
  fix?: string;
}

export interface OwnerStatus {
  table: string;
  owner: string;
  partition: string | null;
  rows: number | null;
  hash: string | null;
  copies: CopyStatus[];
}

export interface MemberStatus {
  name: string;
  reachable: boolean;
  /** Its WAL budget for slots, in bytes; null: unbounded (`max_slot_wal_keep_size = -1`). */
  budgetBytes?: number | null;
  error?: string;
  /** Federated tables this reachable member does not have. */
  missingTables: string[];
  /** Tables whose shape differs from their declaration, with how. */
  drift: string[];
  /** Its own partitions its publication does not list. */
  unpublished: string[];
}

export interface StatusReport {
  pairs: PairStatus[];
  partitions: OwnerStatus[];
  members: MemberStatus[];
  healthy: boolean;
}

export interface SubscriberRow {
  subname: string;
  subenabled: boolean;
  worker: boolean;
  /** PostgreSQL 15+: apply errors since its statistics were reset; null before 15. */
  errors: number | null;
  last_msg: Date | null;
  states: string | null;
}

export interface SlotRow {
  slot_name: string;
  active: boolean;
  lag: string | null;
  retained: string | null;
  wal_status: string | null;
  invalidation: string | null;
  failover: boolean;
}

export interface PartitionRow {
  table: string;
  owner: string;
  partition: string;
  rows: number;
  hash: string;
}

export interface MemberFacts {
  subscriptions: Map<string, SubscriberRow>;
  slots: Map<string, SlotRow>;
  /** Its `max_slot_wal_keep_size` in bytes; null: unbounded (-1). */
  budgetBytes: number | null;
  partitions: PartitionRow[];
  missingTables: string[];
  drift: string[];
  /** Its own partitions its publication does not list (its peers get none of them). */
  unpublished: string[];
}
