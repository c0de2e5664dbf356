/** Logical replication slots, made and dropped over Pulumi's own connection to their publisher. */

export const slots = {
  /** `$1` slot. */
  state: 'SELECT active FROM pg_replication_slots WHERE slot_name = $1',
  /** `$1` slot. */
  create: "SELECT pg_create_logical_replication_slot($1, 'pgoutput')",
  /** `$1` slot. */
  drop: 'SELECT pg_drop_replication_slot($1)',
  /** Whether the slot's consumer has confirmed WAL up to a position. `$1` slot, `$2` LSN. */
  confirmedPast:
    'SELECT confirmed_flush_lsn >= $2::pg_lsn AS done FROM pg_replication_slots WHERE slot_name = $1',
  /** The server's current WAL position. */
  currentLsn: 'SELECT pg_current_wal_lsn()::text AS lsn',
};
