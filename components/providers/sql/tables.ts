/**
 * A federated table's DDL: its columns as declared (the one place a column's DEFAULT is decided,
 * the owner column's included), the ALTER TABLE steps between two shapes, its indexes (built
 * concurrently on each partition), and the catalog reads of what it is.
 */
import { columnList, ident, literal, qualified } from './identifiers';

export interface ShapeColumn {
  name: string;
  type: string;
  notNull: boolean;
  /** The DEFAULT as SQL text, or undefined. */
  default?: string;
}

export interface ShapeIndex {
  name: string;
  columns: string[];
  unique: boolean;
}

export interface ShapeCheck {
  name: string;
  expression: string;
}

/** A column as config declares it (components/config/tables.ts). */
export interface DeclaredColumn {
  name: string;
  type: string;
  notNull: boolean;
  default?: string | number | boolean;
  defaultExpression?: string;
}

/**
 * The columns a member's table has, defaults as SQL text: the owner column (added as text when not
 * declared) defaults to the member's own name, so a row inserted without it lands in the member's
 * partition; a `defaultExpression` is a call, a `default` a constant.
 */
export function declaredColumns(t: {
  member: string;
  columns: DeclaredColumn[];
  ownerColumn: string;
}): ShapeColumn[] {
  const columns = t.columns.some((c) => c.name === t.ownerColumn)
    ? t.columns
    : [...t.columns, { name: t.ownerColumn, type: 'text', notNull: false }];
  return columns.map((c) => {
    const dflt =
      c.name === t.ownerColumn
        ? literal(t.member)
        : c.defaultExpression !== undefined
          ? c.defaultExpression
          : c.default === undefined
            ? undefined
            : typeof c.default === 'string'
              ? literal(c.default)
              : String(c.default);
    return {
      name: c.name,
      type: c.type,
      notNull: c.notNull,
      ...(dflt !== undefined ? { default: dflt } : {}),
    };
  });
}

/** One column definition: `"name" type DEFAULT x NOT NULL`. */
export function columnDefinition(c: ShapeColumn): string {
  return [
    ident(c.name),
    c.type,
    ...(c.default !== undefined ? [`DEFAULT ${c.default}`] : []),
    ...(c.notNull ? ['NOT NULL'] : []),
  ].join(' ');
}

/** The column definitions of `CREATE TABLE` (sql/table.sql), one per line. */
export function columnsSql(t: { member: string; columns: DeclaredColumn[]; ownerColumn: string }): string {
  return declaredColumns(t)
    .map((c) => `    ${columnDefinition(c)}`)
    .join(',\n');
}

/** `("id")`, `("region", "order_id")`. */
export function primaryKeySql(primaryKey: string[]): string {
  return columnList(primaryKey);
}

/** ALTER TABLE steps on a federated table (run on the parent; its partitions follow). */
export const alterTable = {
  addColumn(schema: string, table: string, c: ShapeColumn): string {
    return (
      `ALTER TABLE ${qualified(schema, table)} ADD COLUMN IF NOT EXISTS ${ident(c.name)} ${c.type}` +
      `${c.default !== undefined ? ` DEFAULT ${c.default}` : ''}${c.notNull ? ' NOT NULL' : ''}`
    );
  },
  setDefault(schema: string, table: string, column: string, dflt: string | undefined): string {
    return `ALTER TABLE ${qualified(schema, table)} ALTER COLUMN ${ident(column)} ${dflt === undefined ? 'DROP DEFAULT' : `SET DEFAULT ${dflt}`}`;
  },
  dropNotNull(schema: string, table: string, column: string): string {
    return `ALTER TABLE ${qualified(schema, table)} ALTER COLUMN ${ident(column)} DROP NOT NULL`;
  },
  setNotNull(schema: string, table: string, column: string): string {
    return `ALTER TABLE ${qualified(schema, table)} ALTER COLUMN ${ident(column)} SET NOT NULL`;
  },
  dropColumn(schema: string, table: string, column: string, ifExists = false): string {
    return `ALTER TABLE ${qualified(schema, table)} DROP COLUMN ${ifExists ? 'IF EXISTS ' : ''}${ident(column)}`;
  },
  /** A check is added NOT VALID, then validated (existing rows are checked without a long lock). */
  addCheck(schema: string, table: string, check: ShapeCheck): string[] {
    return [
      `ALTER TABLE ${qualified(schema, table)} ADD CONSTRAINT ${ident(check.name)} CHECK (${check.expression}) NOT VALID`,
      `ALTER TABLE ${qualified(schema, table)} VALIDATE CONSTRAINT ${ident(check.name)}`,
    ];
  },
  dropConstraint(schema: string, table: string, name: string): string {
    return `ALTER TABLE ${qualified(schema, table)} DROP CONSTRAINT IF EXISTS ${ident(name)}`;
  },
};

/**
 * An index of a partitioned table, as PostgreSQL allows it to be built without blocking writes: the
 * parent's index ON ONLY the parent, each partition's built CONCURRENTLY, then attached to it.
 */
export const indexes = {
  onParent(schema: string, table: string, index: ShapeIndex): string {
    return `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX IF NOT EXISTS ${ident(index.name)} ON ONLY ${qualified(schema, table)} ${columnList(index.columns)}`;
  },
  onPartitionConcurrently(schema: string, partition: string, name: string, index: ShapeIndex): string {
    return `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX CONCURRENTLY IF NOT EXISTS ${ident(name)} ON ${qualified(schema, partition)} ${columnList(index.columns)}`;
  },
  attach(schema: string, parentIndex: string, partitionIndex: string): string {
    return `ALTER INDEX ${qualified(schema, parentIndex)} ATTACH PARTITION ${qualified(schema, partitionIndex)}`;
  },
  drop(schema: string, name: string): string {
    return `DROP INDEX IF EXISTS ${qualified(schema, name)}`;
  },
  dropConcurrently(schema: string, name: string): string {
    return `DROP INDEX CONCURRENTLY ${qualified(schema, name)}`;
  },
  /** An index left invalid by an interrupted concurrent build. `$1` schema, `$2` name. */
  invalid: `SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relname = $2 AND NOT i.indisvalid`,
};

/** The name PostgreSQL gives a partition's index (`<partition>_<columns>_idx`, `_key` when unique), clipped to 63 bytes. */
export function partitionIndexName(partition: string, index: ShapeIndex): string {
  const label = index.unique ? 'key' : 'idx';
  let base = `${partition}_${index.columns.join('_')}`;
  while (Buffer.byteLength(base) > 63 - label.length - 1) base = base.slice(0, -1);
  return `${base}_${label}`;
}

/** What the catalog holds of a table. */
export const tableCatalog = {
  /** `$1` the qualified table. */
  oid: 'SELECT to_regclass($1)::oid::text AS oid',
  /** `$1` the table's oid. */
  columns: `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
                   pg_get_expr(d.adbin, d.adrelid) AS dflt
              FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
  /** Its own indexes (the primary key aside). `$1` the table's oid. */
  indexes: `SELECT c.relname AS name, i.indisunique AS unique,
                   ARRAY(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(num, ord)
                           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num ORDER BY k.ord)::text[] AS columns
              FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             WHERE i.indrelid = $1::oid AND NOT i.indisprimary`,
  /** `$1` the table's oid. */
  checks: `SELECT conname AS name, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = $1::oid AND contype = 'c'`,
};

/**
 * Declared columns as the catalog prints them (`int` → `integer`, a text default `'x'` → `'x'::text`)
 * are read off a temporary table made of them. Types and defaults passed config validation
 * (components/config/tables.ts): a type name, a constant or a call without arguments, nothing else.
 */
export const canonicalTable = {
  name: 'pg_federation_shape',
  create(columns: ShapeColumn[]): string {
    return `CREATE TEMP TABLE pg_federation_shape (${columns
      .map((c, i) => `${ident(`c${i}`)} ${c.type}${c.default !== undefined ? ` DEFAULT ${c.default}` : ''}`)
      .join(', ')}) ON COMMIT DROP`;
  },
  columns: `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, pg_get_expr(d.adbin, d.adrelid) AS dflt
              FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE a.attrelid = 'pg_federation_shape'::regclass AND a.attnum > 0 ORDER BY a.attnum`,
};
