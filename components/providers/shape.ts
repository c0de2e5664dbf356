/**
 * A federated table's shape: what the catalog says it is, and the steps from one shape to another,
 * each marked additive (safe to run at once), destructive (only with allowDestructiveChanges, and
 * after every member has stopped needing what it removes) or refused (with the reason and the way).
 *
 * Pure builders and catalog reads, serialized by value into the FederatedTable provider.
 */
import type { Client } from 'pg';

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

export interface TableShape {
  columns: ShapeColumn[];
  indexes: ShapeIndex[];
  checks: ShapeCheck[];
}

export type StepKind = 'additive' | 'destructive' | 'refused';

export interface ShapeStep {
  kind: StepKind;
  /** One line for people: `add column weight numeric`. */
  describe: string;
  /** What runs, on the parent table (partitions follow); empty for steps run otherwise (indexes). */
  sql: string[];
  /** Refused steps: why, and what to do instead. */
  reason?: string;
  column?: string;
  index?: ShapeIndex;
}

/** Same name, columns in the same order, same uniqueness (however the objects were written). */
function sameIndex(a: ShapeIndex, b: ShapeIndex): boolean {
  return a.name === b.name && a.unique === b.unique && a.columns.join('\u0000') === b.columns.join('\u0000');
}

function pg(): typeof import('pg') {
  return require('pg') as typeof import('pg');
}

function table(schema: string, name: string): string {
  const { escapeIdentifier } = pg();
  return `${escapeIdentifier(schema)}.${escapeIdentifier(name)}`;
}

/**
 * The steps from `from` to `to`, for table `schema.name`. Types compare as given: call with
 * canonical types (`canonicalTypes`) when one side comes from the catalog.
 */
export function shapeSteps(schema: string, name: string, from: TableShape, to: TableShape): ShapeStep[] {
  const { escapeIdentifier } = pg();
  const t = table(schema, name);
  const steps: ShapeStep[] = [];
  const before = new Map(from.columns.map((c) => [c.name, c]));
  const after = new Map(to.columns.map((c) => [c.name, c]));
  for (const c of to.columns) {
    const was = before.get(c.name);
    const col = escapeIdentifier(c.name);
    if (was === undefined) {
      if (c.notNull && c.default === undefined) {
        steps.push({
          kind: 'refused',
          describe: `add column ${c.name} ${c.type} NOT NULL`,
          sql: [],
          column: c.name,
          reason:
            'a new NOT NULL column needs a default for the rows already there (and for rows other members write ' +
            'before they have it): give it a default, or add it nullable, fill it, then set notNull',
        });
        continue;
      }
      steps.push({
        kind: 'additive',
        describe: `add column ${c.name} ${c.type}${c.default !== undefined ? ` DEFAULT ${c.default}` : ''}${c.notNull ? ' NOT NULL' : ''}`,
        sql: [
          `ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS ${col} ${c.type}` +
            `${c.default !== undefined ? ` DEFAULT ${c.default}` : ''}${c.notNull ? ' NOT NULL' : ''}`,
        ],
        column: c.name,
      });
      continue;
    }
    if (was.type !== c.type) {
      steps.push({
        kind: 'refused',
        describe: `change the type of ${c.name} from ${was.type} to ${c.type}`,
        sql: [],
        column: c.name,
        reason:
          'replication applies rows typed as their owner wrote them, so members cannot change a type one after ' +
          `the other: add a new column of type ${c.type}, fill it on each owner, move the application to it, ` +
          `then remove ${c.name} (allowDestructiveChanges)`,
      });
      continue;
    }
    if (was.default !== c.default) {
      steps.push({
        kind: 'additive',
        describe:
          c.default === undefined
            ? `drop the default of ${c.name}`
            : `set the default of ${c.name} to ${c.default}`,
        sql: [
          `ALTER TABLE ${t} ALTER COLUMN ${col} ${c.default === undefined ? 'DROP DEFAULT' : `SET DEFAULT ${c.default}`}`,
        ],
        column: c.name,
      });
    }
    if (was.notNull && !c.notNull) {
      steps.push({
        kind: 'additive',
        describe: `allow NULL in ${c.name}`,
        sql: [`ALTER TABLE ${t} ALTER COLUMN ${col} DROP NOT NULL`],
        column: c.name,
      });
    } else if (!was.notNull && c.notNull) {
      steps.push({
        kind: 'destructive',
        describe: `forbid NULL in ${c.name}`,
        sql: [`ALTER TABLE ${t} ALTER COLUMN ${col} SET NOT NULL`],
        column: c.name,
      });
    }
  }
  for (const c of from.columns) {
    if (!after.has(c.name)) {
      steps.push({
        kind: 'destructive',
        describe: `drop column ${c.name}`,
        sql: [`ALTER TABLE ${t} DROP COLUMN ${escapeIdentifier(c.name)}`],
        column: c.name,
      });
    }
  }
  const indexesBefore = new Map(from.indexes.map((i) => [i.name, i]));
  for (const index of to.indexes) {
    const was = indexesBefore.get(index.name);
    if (was !== undefined && sameIndex(was, index)) continue;
    if (was !== undefined)
      steps.push({
        kind: 'additive',
        describe: `drop index ${index.name} (to make it again)`,
        sql: [`DROP INDEX IF EXISTS ${table(schema, index.name)}`],
      });
    steps.push({
      kind: 'additive',
      describe: `create ${index.unique ? 'unique ' : ''}index ${index.name} on (${index.columns.join(', ')}), concurrently on each partition`,
      sql: [],
      index,
    });
  }
  for (const index of from.indexes) {
    if (!to.indexes.some((i) => i.name === index.name)) {
      steps.push({
        kind: 'additive',
        describe: `drop index ${index.name}`,
        sql: [`DROP INDEX IF EXISTS ${table(schema, index.name)}`],
      });
    }
  }
  const checksBefore = new Map(from.checks.map((c) => [c.name, c]));
  for (const check of to.checks) {
    const was = checksBefore.get(check.name);
    if (was !== undefined && was.expression === check.expression) continue;
    if (was !== undefined) {
      steps.push({
        kind: 'additive',
        describe: `drop check ${check.name} (to make it again)`,
        sql: [`ALTER TABLE ${t} DROP CONSTRAINT IF EXISTS ${escapeIdentifier(check.name)}`],
      });
    }
    steps.push({
      kind: 'destructive',
      describe: `add check ${check.name}: ${check.expression}`,
      sql: [
        `ALTER TABLE ${t} ADD CONSTRAINT ${escapeIdentifier(check.name)} CHECK (${check.expression}) NOT VALID`,
        `ALTER TABLE ${t} VALIDATE CONSTRAINT ${escapeIdentifier(check.name)}`,
      ],
    });
  }
  for (const check of from.checks) {
    if (!to.checks.some((c) => c.name === check.name)) {
      steps.push({
        kind: 'additive',
        describe: `drop check ${check.name}`,
        sql: [`ALTER TABLE ${t} DROP CONSTRAINT IF EXISTS ${escapeIdentifier(check.name)}`],
      });
    }
  }
  return steps;
}

/** What the catalog holds for the table: columns (canonical types), its own indexes, its checks. */
export async function readShape(
  client: Client,
  schema: string,
  name: string,
): Promise<TableShape | undefined> {
  const rel = `${table(schema, name)}`;
  const exists = await client.query<{ oid: string | null }>('SELECT to_regclass($1)::oid::text AS oid', [
    rel,
  ]);
  const oid = exists.rows[0]?.oid;
  if (oid === null || oid === undefined) return undefined;
  const columns = await client.query<{ name: string; type: string; not_null: boolean; dflt: string | null }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
            pg_get_expr(d.adbin, d.adrelid) AS dflt
       FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [oid],
  );
  const indexes = await client.query<{ name: string; columns: string[]; unique: boolean }>(
    `SELECT c.relname AS name, i.indisunique AS unique,
            ARRAY(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(num, ord)
                    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num ORDER BY k.ord)::text[] AS columns
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE i.indrelid = $1::oid AND NOT i.indisprimary`,
    [oid],
  );
  const checks = await client.query<{ name: string; def: string }>(
    `SELECT conname AS name, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = $1::oid AND contype = 'c'`,
    [oid],
  );
  return {
    columns: columns.rows.map((c) => ({
      name: c.name,
      type: c.type,
      notNull: c.not_null,
      ...(c.dflt !== null ? { default: c.dflt } : {}),
    })),
    indexes: indexes.rows.map((i) => ({ name: i.name, columns: i.columns, unique: i.unique })),
    checks: checks.rows.map((c) => ({ name: c.name, expression: c.def })),
  };
}

/**
 * Declared columns as the catalog prints them (`int` → `integer`, `timestamptz` → `timestamp with
 * time zone`, a text default `'x'` → `'x'::text`), read off a temporary table made of them: what a
 * declared shape is compared with.
 */
export async function canonicalColumns(client: Client, columns: ShapeColumn[]): Promise<ShapeColumn[]> {
  if (columns.length === 0) return [];
  const { escapeIdentifier } = pg();
  await client.query('BEGIN');
  try {
    // Types and defaults passed config validation (components/tables.ts): a type name, a constant
    // or a call without arguments, nothing else; one statement, by the extended protocol.
    await client.query({
      text: `CREATE TEMP TABLE pg_federation_shape (${columns
        .map(
          (c, i) =>
            `${escapeIdentifier(`c${i}`)} ${c.type}${c.default !== undefined ? ` DEFAULT ${c.default}` : ''}`,
        )
        .join(', ')}) ON COMMIT DROP`,
      values: [],
      queryMode: 'extended',
    } as import('pg').QueryConfig);
    const res = await client.query<{ name: string; type: string; dflt: string | null }>(
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, pg_get_expr(d.adbin, d.adrelid) AS dflt
         FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = 'pg_federation_shape'::regclass AND a.attnum > 0 ORDER BY a.attnum`,
    );
    await client.query('ROLLBACK');
    return columns.map((c, i) => {
      const row = res.rows.find((r) => r.name === `c${i}`);
      return {
        name: c.name,
        type: row?.type ?? c.type,
        notNull: c.notNull,
        ...(row?.dflt != null ? { default: row.dflt } : {}),
      };
    });
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
