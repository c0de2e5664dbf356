/**
 * Server settings a member needs to take part in a full mesh of up to `capacity` members.
 *
 * These settings need a server restart, so they are sized from the configured capacity
 * (`maxMembers`), never from today's member count: adding a member below capacity changes nothing on
 * the existing servers. The same function configures the embedded test servers.
 *
 * Per member, in a mesh of N:
 * - as subscriber: N-1 subscriptions, each one apply worker, plus up to
 *   `max_sync_workers_per_subscription` table-sync workers while its initial copy runs (all N-1
 *   sync at once when a member joins);
 * - as publisher: N-1 logical slots and WAL senders, one per subscriber, plus one temporary slot and
 *   WAL sender per table-sync worker of each subscriber copying from it;
 * - PGO's own physical replicas and backups need WAL senders (Patroni runs with `use_slots: false`,
 *   pgBackRest archives WAL and needs none, a new replica's base backup takes one sender).
 * A subscriber tracks a replication origin per subscription plus one per sync worker. Up to
 * PostgreSQL 17 `max_replication_slots` bounds them too, so it is sized for both roles; PostgreSQL 18
 * bounds them by `max_active_replication_origins` (default 10, set at server start), sized here the
 * same way: left at 10, a member with 10 subscriptions (a mesh of 11) has no origin left for a sync
 * worker, and every new pair waits in its initial copy until `syncTimeoutSeconds` runs out (measured
 * by `npm run bench` adding an 11th member, 2026-12-02).
 */

/** PostgreSQL's default, written explicitly so the sizing below holds. */
export const SYNC_WORKERS_PER_SUBSCRIPTION = 2;
/** Slots and senders kept free for operators (a manual pg_basebackup, a CDC tool, a repair). */
const SLOT_HEADROOM = 4;
/** WAL senders PGO's own HA replicas and replica bootstraps may use. */
const PGO_WAL_SENDERS = 4;
/** Background workers outside logical replication: the launcher, parallel query, extensions. */
const LAUNCHER = 1;
const PARALLEL_WORKERS = 8;
const EXTENSION_WORKERS = 2;

export interface ReplicationSettings {
  max_replication_slots: number;
  max_wal_senders: number;
  max_logical_replication_workers: number;
  max_sync_workers_per_subscription: number;
  max_worker_processes: number;
  max_parallel_workers: number;
  /** PostgreSQL 18+ only: `serverSettings` leaves it out for older servers. */
  max_active_replication_origins: number;
}

/** The first major that knows a setting, for those not every supported major has. */
const SINCE: Partial<Record<keyof ReplicationSettings, number>> = { max_active_replication_origins: 18 };

/** The settings for a mesh of `capacity` members, whatever the server's major (the advice a preflight gives). */
export function replicationSettings(capacity: number): ReplicationSettings {
  if (!Number.isInteger(capacity) || capacity < 2) {
    throw new Error(`replication capacity must be an integer of at least 2, got ${capacity}`);
  }
  const peers = capacity - 1;
  const syncing = peers * SYNC_WORKERS_PER_SUBSCRIPTION;
  const logicalWorkers = peers + syncing;
  return {
    max_replication_slots: peers + syncing + SLOT_HEADROOM,
    max_wal_senders: peers + syncing + PGO_WAL_SENDERS + SLOT_HEADROOM,
    max_logical_replication_workers: logicalWorkers,
    max_sync_workers_per_subscription: SYNC_WORKERS_PER_SUBSCRIPTION,
    max_worker_processes: logicalWorkers + LAUNCHER + PARALLEL_WORKERS + EXTENSION_WORKERS,
    max_parallel_workers: PARALLEL_WORKERS,
    max_active_replication_origins: peers + syncing + SLOT_HEADROOM,
  };
}

/**
 * The settings to start a server of this major with: those it knows (an unknown setting stops a
 * server from starting).
 */
export function serverSettings(capacity: number, major: number): Partial<ReplicationSettings> {
  return Object.fromEntries(
    Object.entries(replicationSettings(capacity)).filter(
      ([name]) => major >= (SINCE[name as keyof ReplicationSettings] ?? 0),
    ),
  );
}

/** The settings as `-c name=value` server flags (for servers we start ourselves). */
export function asServerFlags(settings: object): string[] {
  return Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]);
}
