/**
 * A member's partition of a federated table (it is made from sql/partition.sql, rendered by the plan):
 * attach, detach, drop, empty, and what the catalog says of it.
 */
import { ident, listBound, qualified } from './identifiers';

/** A member's partition of a federated table: its name and the member whose rows it holds. */
export interface PartitionBound {
  schema: string;
  table: string;
  partition: string;
  owner: string;
}

type Relation = Pick<PartitionBound, 'schema' | 'partition'>;

export const partitions = {
  attach(b: PartitionBound): string {
    return `ALTER TABLE ${qualified(b.schema, b.table)} ATTACH PARTITION ${qualified(b.schema, b.partition)} ${listBound(b.owner)}`;
  },
  /**
   * A column a kept table lacks, as its parent has it: `type` and `dflt` are the catalog's own
   * rendering of the parent's column (format_type, pg_get_expr).
   */
  addColumn(b: Relation, c: { name: string; type: string; dflt: string | null; not_null: boolean }): string {
    return `ALTER TABLE ${qualified(b.schema, b.partition)} ADD COLUMN ${ident(c.name)} ${c.type}${
      c.dflt !== null ? ` DEFAULT ${c.dflt}` : ''
    }${c.not_null ? ' NOT NULL' : ''}`;
  },
  detach(b: PartitionBound): string {
    return `ALTER TABLE ${qualified(b.schema, b.table)} DETACH PARTITION ${qualified(b.schema, b.partition)}`;
  },
  drop(b: Relation): string {
    return `DROP TABLE ${qualified(b.schema, b.partition)}`;
  },
  /** Empties partitions past the ownership guard (as replication's own writes are). Inside a transaction. */
  truncateAsReplica(tables: Relation[]): string[] {
    return [
      'SET LOCAL session_replication_role = replica',
      `TRUNCATE ${tables.map((t) => qualified(t.schema, t.partition)).join(', ')}`,
    ];
  },
  /** Its state: parent, LIST bound, relkind. `$1` schema, `$2` name. */
  inspect: `SELECT p.relname AS parent, pg_get_expr(c.relpartbound, c.oid) AS bound,
                   c.relkind::text AS kind
              FROM pg_class c
              JOIN pg_namespace n ON n.oid = c.relnamespace
              LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
              LEFT JOIN pg_class p ON p.oid = i.inhparent
             WHERE n.nspname = $1 AND c.relname = $2`,
  hasRows(b: Relation): string {
    return `SELECT EXISTS (SELECT 1 FROM ${qualified(b.schema, b.partition)}) AS has_rows`;
  },
  count(b: Relation): string {
    return `SELECT count(*) AS n FROM ${qualified(b.schema, b.partition)}`;
  },
  /** Every partition of a table with its LIST bound (NULL for none). `$1` the qualified table. */
  ofTable: `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
              FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = to_regclass($1)`,
  /**
   * Every LIST partition of a table (status, and the monitoring queries) with its one bound value:
   * the member whose rows it holds (NULL for the DEFAULT partition; a quote in it doubled, as
   * pg_get_expr prints it). `parent`: an SQL expression of type regclass, e.g. `to_regclass($1)`.
   */
  owners(parent: string): string {
    return `SELECT c.oid AS relid, c.relname AS partition, n.nspname AS schema,
                substring(pg_get_expr(c.relpartbound, c.oid) FROM '^FOR VALUES IN \\(''(.*)''\\)$') AS owner
           FROM pg_inherits i
           JOIN pg_class c ON c.oid = i.inhrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE i.inhparent = ${parent}`;
  },
};
