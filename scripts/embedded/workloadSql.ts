/** The SQL of the embedded workloads: writers that insert while something happens to a member. */
import { ident } from '../../components/providers/sql/identifiers';

export const workloadSql = {
  /** One row routed to the member's own partition; its id, as acknowledged by the commit. */
  insertOne: (table: string): string =>
    `INSERT INTO ${ident(table)} (value, created_at) VALUES (NULL, clock_timestamp()) RETURNING id::text`,
};
