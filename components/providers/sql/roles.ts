/** What the replication role may read. */
import { ident, qualified } from './identifiers';

/** Whether `role` may read a table (the initial copy needs it). `$1` role, `$2` qualified table. */
export const canRead = "SELECT has_table_privilege($1, $2, 'SELECT') AS ok";

export const grants = {
  select(schema: string, table: string, role: string): string {
    return `GRANT SELECT ON ${qualified(schema, table)} TO ${ident(role)}`;
  },
  revokeSelect(schema: string, table: string, role: string): string {
    return `REVOKE SELECT ON ${qualified(schema, table)} FROM ${ident(role)}`;
  },
};
