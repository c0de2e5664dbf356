/**
 * The SQL the dynamic providers run, as pure builders (CloudNativePG's style): every identifier goes
 * through pg's escapeIdentifier and every literal through escapeLiteral, and each builder is unit
 * tested as a string (tests/unit/statements.test.ts). Catalog queries take `$n` parameters.
 *
 * Serialized by value into the providers: `pg` is required by name inside the functions.
 */

/** A member's partition of a federated table: its name and the member whose rows it holds. */
export interface PartitionBound {
  schema: string;
  table: string;
  partition: string;
  owner: string;
}

function pg(): typeof import('pg') {
  return require('pg') as typeof import('pg');
}

/** `"schema"."name"`. */
export function qualified(schema: string, name: string): string {
  const { escapeIdentifier } = pg();
  return `${escapeIdentifier(schema)}.${escapeIdentifier(name)}`;
}

/** `("a", "b")`. */
export function columnList(columns: string[]): string {
  const { escapeIdentifier } = pg();
  return `(${columns.map((c) => escapeIdentifier(c)).join(', ')})`;
}

/** The LIST bound of a member's partition: `FOR VALUES IN ('hippo-east')`, as pg_get_expr prints it. */
export function listBound(owner: string): string {
  return `FOR VALUES IN (${pg().escapeLiteral(owner)})`;
}

export const partitions = {
  create(b: PartitionBound, primaryKey: string[]): string {
    return (
      `CREATE TABLE ${qualified(b.schema, b.partition)} PARTITION OF ${qualified(b.schema, b.table)} ` +
      `(PRIMARY KEY ${columnList(primaryKey)}) ${listBound(b.owner)}`
    );
  },
  attach(b: PartitionBound): string {
    return `ALTER TABLE ${qualified(b.schema, b.table)} ATTACH PARTITION ${qualified(b.schema, b.partition)} ${listBound(b.owner)}`;
  },
  detach(b: PartitionBound): string {
    return `ALTER TABLE ${qualified(b.schema, b.table)} DETACH PARTITION ${qualified(b.schema, b.partition)}`;
  },
  drop(b: Pick<PartitionBound, 'schema' | 'partition'>): string {
    return `DROP TABLE ${qualified(b.schema, b.partition)}`;
  },
  /** Empties a partition past the ownership guard (as replication's own writes are). Inside a transaction. */
  truncateAsReplica(tables: Array<{ schema: string; partition: string }>): string[] {
    return [
      'SET LOCAL session_replication_role = replica',
      `TRUNCATE ${tables.map((t) => qualified(t.schema, t.partition)).join(', ')}`,
    ];
  },
  /** Its state: parent, LIST bound, whether it holds rows. `$1` schema, `$2` name. */
  inspect: `SELECT p.relname AS parent, pg_get_expr(c.relpartbound, c.oid) AS bound,
                   c.relkind::text AS kind
              FROM pg_class c
              JOIN pg_namespace n ON n.oid = c.relnamespace
              LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
              LEFT JOIN pg_class p ON p.oid = i.inhparent
             WHERE n.nspname = $1 AND c.relname = $2`,
  hasRows(b: Pick<PartitionBound, 'schema' | 'partition'>): string {
    return `SELECT EXISTS (SELECT 1 FROM ${qualified(b.schema, b.partition)}) AS has_rows`;
  },
};

export const publications = {
  /** Whether the publication exists and lists the table. `$1` publication, `$2` schema, `$3` table. */
  membership: `SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1) AS exists,
                      EXISTS (SELECT 1 FROM pg_publication_tables
                               WHERE pubname = $1 AND schemaname = $2 AND tablename = $3) AS member`,
  addTable(publication: string, schema: string, table: string): string {
    return `ALTER PUBLICATION ${pg().escapeIdentifier(publication)} ADD TABLE ${qualified(schema, table)}`;
  },
  dropTable(publication: string, schema: string, table: string): string {
    return `ALTER PUBLICATION ${pg().escapeIdentifier(publication)} DROP TABLE ${qualified(schema, table)}`;
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
  /** Tables the publication lists, as `schema.table`. `$1` publication. */
  tables: `SELECT p.pubname, t.schemaname, t.tablename
             FROM pg_publication p LEFT JOIN pg_publication_tables t ON t.pubname = p.pubname
            WHERE p.pubname = $1`,
};

/** `server_version_num` of both ends of a subscription. */
export interface ServerVersions {
  subscriber: number;
  publisher: number;
}

/**
 * What newer majors offer, each only where both ends have it:
 * - `streaming`: a large transaction is sent while it runs instead of spilling to disk on the
 *   publisher until it commits (14+); `parallel` applies it in a parallel worker as it arrives (16+);
 * - `origin = none` (16+): the publisher sends only changes made on it, never ones it applied from
 *   elsewhere, so a publication that ever listed a landing partition by mistake cannot echo rows.
 * `binary` is left off (it breaks on types whose binary form differs between majors), and so are
 * failover slots (17+: they need a physical standby configured for slot synchronisation).
 */
export function subscriptionOptions(v: ServerVersions): string[] {
  const both = Math.min(v.subscriber, v.publisher);
  return [
    both >= 160000 ? 'streaming = parallel' : 'streaming = on',
    ...(both >= 160000 ? ['origin = none'] : []),
  ];
}

export const subscriptions = {
  /**
   * CREATE SUBSCRIPTION over a slot made beforehand, with a full initial copy. With `connect`
   * (the default) the subscriber's server connects to the publisher with the conninfo and records
   * every table the publication lists, so the caller can check them before it commits.
   */
  create(
    name: string,
    conninfo: string,
    publication: string,
    slot: string,
    versions: ServerVersions,
  ): string {
    const { escapeIdentifier, escapeLiteral } = pg();
    const options = [
      'create_slot = false',
      `slot_name = ${escapeLiteral(slot)}`,
      'copy_data = true',
      ...subscriptionOptions(versions),
    ];
    return (
      `CREATE SUBSCRIPTION ${escapeIdentifier(name)} CONNECTION ${escapeLiteral(conninfo)} ` +
      `PUBLICATION ${escapeIdentifier(publication)} WITH (${options.join(', ')})`
    );
  },
  setConnection(name: string, conninfo: string): string {
    return `ALTER SUBSCRIPTION ${pg().escapeIdentifier(name)} CONNECTION ${pg().escapeLiteral(conninfo)}`;
  },
  setPublication(name: string, publication: string): string {
    const { escapeIdentifier } = pg();
    return `ALTER SUBSCRIPTION ${escapeIdentifier(name)} SET PUBLICATION ${escapeIdentifier(publication)} WITH (refresh = false)`;
  },
  /** Picks up tables added to the publication and copies them. Not allowed in a transaction block. */
  refresh(name: string): string {
    return `ALTER SUBSCRIPTION ${pg().escapeIdentifier(name)} REFRESH PUBLICATION WITH (copy_data = true)`;
  },
  enable(name: string): string {
    return `ALTER SUBSCRIPTION ${pg().escapeIdentifier(name)} ENABLE`;
  },
  disable(name: string): string {
    return `ALTER SUBSCRIPTION ${pg().escapeIdentifier(name)} DISABLE`;
  },
  /** Forget the slot (kept on the publisher) so the subscription can be dropped without reaching it. */
  detachSlot(name: string): string {
    return `ALTER SUBSCRIPTION ${pg().escapeIdentifier(name)} SET (slot_name = NONE)`;
  },
  drop(name: string): string {
    return `DROP SUBSCRIPTION ${pg().escapeIdentifier(name)}`;
  },
  /** The server's `server_version_num`. */
  version: "SELECT current_setting('server_version_num')::int AS v",
  /** The subscription in this database. `$1` name. */
  find: `SELECT s.oid::bigint::text AS oid, s.subconninfo AS conninfo, s.subpublications AS publications,
                s.subslotname AS slot, s.subenabled AS enabled
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
};

export const slots = {
  /** `$1` slot. */
  state: 'SELECT active FROM pg_replication_slots WHERE slot_name = $1',
  /** `$1` slot. */
  create: "SELECT pg_create_logical_replication_slot($1, 'pgoutput')",
  /** `$1` slot. */
  drop: 'SELECT pg_drop_replication_slot($1)',
};

/** Whether `role` may read a table (the initial copy needs it). `$1` role, `$2` qualified table. */
export const canRead = "SELECT has_table_privilege($1, $2, 'SELECT') AS ok";
