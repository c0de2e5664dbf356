/** Publications: a member's own partitions joining and leaving it, and what it lists. */
import { ident, qualified } from './identifiers';

export const publications = {
  /** Whether the publication exists and lists the table. `$1` publication, `$2` schema, `$3` table. */
  membership: `SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1) AS exists,
                      EXISTS (SELECT 1 FROM pg_publication_tables
                               WHERE pubname = $1 AND schemaname = $2 AND tablename = $3) AS member`,
  /** Adds a table, with a column list (PostgreSQL 15+) when `columns` is given: `("a", "b")`. */
  addTable(publication: string, schema: string, table: string, columns = ''): string {
    return `ALTER PUBLICATION ${ident(publication)} ADD TABLE ${qualified(schema, table)}${columns === '' ? '' : ` ${columns}`}`;
  },
  dropTable(publication: string, schema: string, table: string): string {
    return `ALTER PUBLICATION ${ident(publication)} DROP TABLE ${qualified(schema, table)}`;
  },
  /** A publication of one table (a restore's temporary one). */
  create(publication: string, schema: string, table: string): string {
    return `CREATE PUBLICATION ${ident(publication)} FOR TABLE ${qualified(schema, table)}`;
  },
  dropIfExists(publication: string): string {
    return `DROP PUBLICATION IF EXISTS ${ident(publication)}`;
  },
  /**
   * What the publication lists, each with its parent table and LIST bound (NULL when it is not a
   * partition). `$1` publication.
   */
  contents: `SELECT t.schemaname AS schema, t.tablename AS name, p.relname AS parent,
                    pg_get_expr(c.relpartbound, c.oid) AS bound
               FROM pg_publication_tables t
               JOIN pg_namespace n ON n.nspname = t.schemaname
               JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = t.tablename
               LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
               LEFT JOIN pg_class p ON p.oid = i.inhparent
              WHERE t.pubname = $1`,
  /** The publication and the tables it lists (one row with NULLs when it lists none). `$1` publication. */
  tables: `SELECT p.pubname, t.schemaname, t.tablename
             FROM pg_publication p LEFT JOIN pg_publication_tables t ON t.pubname = p.pubname
            WHERE p.pubname = $1`,
  /** Whether it lists a table. `$1` publication, `$2` schema, `$3` table. */
  lists: 'SELECT 1 FROM pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND tablename = $3',
  /**
   * How many partitions of a table any publication here still sends any of the columns of (15+:
   * `attnames` is the column list, NULL for all columns). `$1` schema, `$2` qualified table, `$3` columns.
   */
  sendingColumns: `SELECT count(*) AS n FROM pg_publication_tables t
                    WHERE t.schemaname = $1 AND t.tablename IN (SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                                                                  WHERE i.inhparent = to_regclass($2))
                      AND (t.attnames IS NULL OR t.attnames && $3::name[])`,
};
