/** Logical replication slots, made and dropped over Pulumi's own connection to their publisher. */

export const slots = {
  /**
   * A slot's state: in use, whether it decodes with pgoutput in this database, whether its WAL is gone (`wal_status` lost, or
   * on 17+ an invalidation reason) and whether it is a failover slot (17+). `$1` slot.
   */
  state: `SELECT active, plugin = 'pgoutput' AND database = current_database() AS ours,
                 (wal_status = 'lost' OR (to_jsonb(s) ->> 'invalidation_reason') IS NOT NULL) AS lost,
                 coalesce((to_jsonb(s) ->> 'failover')::boolean, false) AS failover
            FROM pg_replication_slots s WHERE slot_name = $1`,
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
