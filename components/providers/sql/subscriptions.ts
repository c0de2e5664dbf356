/**
 * Subscriptions: the mesh's own (over a slot made beforehand, with a full initial copy) and a
 * restore's temporary one, the options each major offers, and what the catalog says of them.
 */
import { ident, literal } from './identifiers';

/** `server_version_num` of both ends of a subscription. */
export interface ServerVersions {
  subscriber: number;
  publisher: number;
}

/** How the subscription applies and keeps its slot, beyond what every major does. */
export interface ApplyOptions {
  /** A failover slot where both ends run 17+. */
  failover?: boolean;
  /** The apply worker's `synchronous_commit` (PostgreSQL's default for subscriptions: off). */
  synchronousCommit?: string;
}

/** Whether both ends run PostgreSQL 17 or newer: failover slots. */
export function both17(v: ServerVersions): boolean {
  return Math.min(v.subscriber, v.publisher) >= 170000;
}

/**
 * What newer majors offer, each only where both ends have it:
 * - `streaming`: a large transaction is sent while it runs instead of spilling to disk on the
 *   publisher until it commits (14+); `parallel` applies it in a parallel worker as it arrives (16+);
 * - `origin = none` (16+): the publisher sends only changes made on it, never ones it applied from
 *   elsewhere, so a publication that ever listed a landing partition by mistake cannot echo rows;
 * - `failover = true` (17+, when asked): the publisher's standbys that synchronise slots keep this
 *   one, so the subscription goes on from it after the publisher fails over.
 * And `synchronous_commit` as asked (`on`: an applied transaction is confirmed to the publisher only
 * once it is as durable as the subscriber's own commits, its synchronous standby included).
 * `binary` is left off (it breaks on types whose binary form differs between majors).
 */
export function subscriptionOptions(v: ServerVersions, opts: ApplyOptions = {}): string[] {
  const both = Math.min(v.subscriber, v.publisher);
  return [
    both >= 160000 ? 'streaming = parallel' : 'streaming = on',
    ...(both >= 160000 ? ['origin = none'] : []),
    ...(opts.failover === true && both >= 170000 ? ['failover = true'] : []),
    ...(opts.synchronousCommit !== undefined
      ? [`synchronous_commit = ${literal(opts.synchronousCommit)}`]
      : []),
  ];
}

/**
 * The conflicts PostgreSQL 18 counts per subscription (pg_stat_subscription_stats, `confl_<kind>`):
 * a row that exists (insert, update), one changed by another origin (update, delete; with
 * `track_commit_timestamp`), one missing (update, delete), several unique keys at once.
 */
export const CONFLICT_KINDS = [
  'insert_exists',
  'update_origin_differs',
  'update_exists',
  'update_missing',
  'delete_origin_differs',
  'delete_missing',
  'multiple_unique_conflicts',
] as const;

export const subscriptions = {
  /**
   * CREATE SUBSCRIPTION over a slot made beforehand, with a full initial copy. The subscriber's
   * server connects to the publisher with the conninfo and records every table the publication
   * lists, so the caller can check them before it commits.
   */
  create(
    name: string,
    conninfo: string,
    publication: string,
    slot: string,
    versions: ServerVersions,
    opts: ApplyOptions = {},
  ): string {
    const options = [
      'create_slot = false',
      `slot_name = ${literal(slot)}`,
      'copy_data = true',
      ...subscriptionOptions(versions, opts),
    ];
    return (
      `CREATE SUBSCRIPTION ${ident(name)} CONNECTION ${literal(conninfo)} ` +
      `PUBLICATION ${ident(publication)} WITH (${options.join(', ')})`
    );
  },
  /** A one-off copy of a publication over a slot made beforehand (a restore's). */
  createCopy(name: string, conninfo: string, publication: string, slot: string): string {
    return (
      `CREATE SUBSCRIPTION ${ident(name)} CONNECTION ${literal(conninfo)} ` +
      `PUBLICATION ${ident(publication)} WITH (create_slot = false, slot_name = ${literal(slot)}, copy_data = true)`
    );
  },
  setConnection(name: string, conninfo: string): string {
    return `ALTER SUBSCRIPTION ${ident(name)} CONNECTION ${literal(conninfo)}`;
  },
  setPublication(name: string, publication: string): string {
    return `ALTER SUBSCRIPTION ${ident(name)} SET PUBLICATION ${ident(publication)} WITH (refresh = false)`;
  },
  /** Picks up tables added to the publication and copies them. Not allowed in a transaction block. */
  refresh(name: string): string {
    return `ALTER SUBSCRIPTION ${ident(name)} REFRESH PUBLICATION WITH (copy_data = true)`;
  },
  /** Where the subscription is disabled (PostgreSQL 17+): the publisher's slot is altered too. */
  setFailover(name: string, failover: boolean): string {
    return `ALTER SUBSCRIPTION ${ident(name)} SET (failover = ${failover ? 'true' : 'false'})`;
  },
  setSynchronousCommit(name: string, value: string): string {
    return `ALTER SUBSCRIPTION ${ident(name)} SET (synchronous_commit = ${literal(value)})`;
  },
  enable(name: string): string {
    return `ALTER SUBSCRIPTION ${ident(name)} ENABLE`;
  },
  disable(name: string): string {
    return `ALTER SUBSCRIPTION ${ident(name)} DISABLE`;
  },
  /** Forget the slot (kept on the publisher) so the subscription can be dropped without reaching it. */
  detachSlot(name: string): string {
    return `ALTER SUBSCRIPTION ${ident(name)} SET (slot_name = NONE)`;
  },
  drop(name: string): string {
    return `DROP SUBSCRIPTION ${ident(name)}`;
  },
  /** The subscription in this database. `$1` name. */
  find: `SELECT s.oid::bigint::text AS oid, s.subconninfo AS conninfo, s.subpublications AS publications,
                s.subslotname AS slot, s.subenabled AS enabled, s.subsynccommit AS synchronous_commit,
                coalesce((to_jsonb(s) ->> 'subfailover')::boolean, false) AS failover
           FROM pg_subscription s
          WHERE s.subname = $1 AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  /**
   * What the subscription writes into: each relation with its sync state, its parent table and its
   * LIST bound (NULL for anything that is not a partition). `$1` subscription name.
   */
  relations: `SELECT n.nspname AS schema, c.relname AS partition, p.relname AS parent,
                     pg_get_expr(c.relpartbound, c.oid) AS bound, r.srsubstate::text AS state
                FROM pg_subscription s
                JOIN pg_subscription_rel r ON r.srsubid = s.oid
                JOIN pg_class c ON c.oid = r.srrelid
                JOIN pg_namespace n ON n.oid = c.relnamespace
                LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
                LEFT JOIN pg_class p ON p.oid = i.inhparent
               WHERE s.subname = $1
                 AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  /**
   * Every subscription of a database (status, and the monitoring queries): enabled, its apply worker,
   * its last message, its tables' sync states, its publications. `database`: its name (default: the
   * connection's). Reads only the columns of pg_subscription any role may (not its conninfo).
   */
  health(database?: string): string {
    const db = database === undefined ? 'current_database()' : literal(database);
    return `SELECT s.subname, s.subenabled,
              EXISTS (SELECT 1 FROM pg_stat_subscription w WHERE w.subid = s.oid AND w.relid IS NULL AND w.pid IS NOT NULL) AS worker,
              (SELECT max(w.last_msg_receipt_time) FROM pg_stat_subscription w WHERE w.subid = s.oid) AS last_msg,
              (SELECT string_agg(DISTINCT r.srsubstate::text, '' ORDER BY r.srsubstate::text) FROM pg_subscription_rel r WHERE r.srsubid = s.oid) AS states,
              array_to_string(s.subpublications, ',') AS publications
         FROM pg_subscription s
        WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = ${db})`;
  },
  /** PostgreSQL 15+: each subscription's apply and initial-sync errors since its statistics were reset. */
  errors:
    'SELECT subid, subname, apply_error_count::int AS apply_errors, sync_error_count::int AS sync_errors FROM pg_stat_subscription_stats',
  /**
   * PostgreSQL 18+: each subscription's conflicts by kind since its statistics were reset
   * (pg_stat_subscription_stats' `confl_*` columns, listed by CONFLICT_KINDS).
   */
  conflicts: `SELECT subid, subname, ${CONFLICT_KINDS.map((k) => `confl_${k}`).join(', ')} FROM pg_stat_subscription_stats`,
};
