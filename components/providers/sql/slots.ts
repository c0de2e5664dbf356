/**
 * Logical replication slots, made and dropped over Pulumi's own connection to their publisher, and
 * what status and the monitoring queries read of them.
 */

/**
 * Whether a slot's WAL is gone: `wal_status` lost, or on 17+ an invalidation reason (a column older
 * majors lack: read through `to_jsonb`, NULL there). Over a row `s` of pg_replication_slots.
 */
const LOST = `(s.wal_status = 'lost' OR (to_jsonb(s) ->> 'invalidation_reason') IS NOT NULL)`;

/** The server's WAL position: on a standby, how far it has replayed (pg_current_wal_lsn() fails there). */
const CURRENT_LSN =
  'CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END';

export const slots = {
  /**
   * A slot's state: in use, whether it decodes with pgoutput in this database, whether its WAL is gone (`wal_status` lost, or
   * on 17+ an invalidation reason) and whether it is a failover slot (17+). `$1` slot.
   */
  state: `SELECT active, plugin = 'pgoutput' AND database = current_database() AS ours,
                 ${LOST} AS lost,
                 coalesce((to_jsonb(s) ->> 'failover')::boolean, false) AS failover
            FROM pg_replication_slots s WHERE slot_name = $1`,
  /**
   * Every logical slot on the server (status, and the monitoring queries): its database, whether in
   * use, how far its consumer is behind the server's WAL (`lag`, bytes as text), the WAL it keeps
   * (`retained`), its `wal_status`, why it was invalidated (17+), whether it is a failover slot
   * (17+) and whether its WAL is gone (`lost`). Readable by any role (pg_monitor's included).
   */
  health: `SELECT slot_name, database, active,
                  ((${CURRENT_LSN}) - confirmed_flush_lsn)::bigint::text AS lag,
                  ((${CURRENT_LSN}) - restart_lsn)::bigint::text AS retained, wal_status,
                  to_jsonb(s) ->> 'invalidation_reason' AS invalidation,
                  coalesce((to_jsonb(s) ->> 'failover')::boolean, false) AS failover,
                  ${LOST} AS lost
             FROM pg_replication_slots s WHERE slot_type = 'logical'`,
  /** The WAL budget of slots on the server, in MB (`max_slot_wal_keep_size`; -1: unbounded). */
  budget: "SELECT setting::bigint AS mb FROM pg_settings WHERE name = 'max_slot_wal_keep_size'",
  /** `$1` slot (every major). */
  create: "SELECT pg_create_logical_replication_slot($1, 'pgoutput')",
  /** `$1` slot, `$2` whether a failover slot (PostgreSQL 17+: temporary, two-phase, failover). */
  createFailover: "SELECT pg_create_logical_replication_slot($1, 'pgoutput', false, false, $2)",
  /** `$1` slot. */
  drop: 'SELECT pg_drop_replication_slot($1)',
  /** Whether the slot's consumer has confirmed WAL up to a position. `$1` slot, `$2` LSN. */
  confirmedPast:
    'SELECT confirmed_flush_lsn >= $2::pg_lsn AS done FROM pg_replication_slots WHERE slot_name = $1',
  /** The server's current WAL position. */
  currentLsn: 'SELECT pg_current_wal_lsn()::text AS lsn',
};
