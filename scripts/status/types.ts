/** What `npm run status` reads from every member and what it judges. Types only. */
import type { TableSpec } from '../../components/config/tables';
import type { PgConnection } from '../../components/providers/connection';

/** A subscription of the mesh, as the plan names it. */
export interface Subscription {
  subscriber: string;
  publisher: string;
  name: string;
  slotName: string;
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
  status: 'ok' | 'lagging' | 'broken' | 'unknown';
  problem?: string;
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
  error?: string;
  /** Federated tables this reachable member does not have. */
  missingTables: string[];
  /** Tables whose shape differs from their declaration, with how. */
  drift: string[];
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
  last_msg: Date | null;
  states: string | null;
}

export interface SlotRow {
  slot_name: string;
  active: boolean;
  lag: string | null;
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
  partitions: PartitionRow[];
  missingTables: string[];
  drift: string[];
}
