/** The statements that make and watch a streaming standby of an embedded server (serverSet.ts). */
import { literal } from '../../components/providers/sql/identifiers';

export const standbySql = {
  /** `$1` the standby's physical slot. */
  physicalSlot: 'SELECT pg_create_physical_replication_slot($1)',
  /** The state of the walsender streaming to the standby (`application_name` standby). */
  streaming: "SELECT state FROM pg_stat_replication WHERE application_name = 'standby'",
  /** Lines of the standby's postgresql.auto.conf. */
  autoConf(conninfo: string, slot: string, major: number): string[] {
    return [
      `primary_conninfo = ${literal(conninfo)}`,
      `primary_slot_name = ${literal(slot)}`,
      'hot_standby_feedback = on',
      ...(major >= 17 ? ['sync_replication_slots = on'] : []),
    ];
  },
};
