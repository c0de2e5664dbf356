/**
 * A federated table's shape: what the catalog says it is, and the steps from one shape to another,
 * each marked additive (safe to run at once), destructive (only with allowDestructiveChanges, and
 * after every member has stopped needing what it removes) or refused (with the reason and the way).
 *
 * Pure builders and catalog reads, serialized by value into the FederatedTable provider.
 */
import type { Client } from 'pg';
import { inTransaction } from './connection';
import {
  type DeclaredColumn,
  type ShapeCheck,
  type ShapeColumn,
  type ShapeIndex,
  alterTable,
  declaredColumns,
  canonicalTable,
  indexes as indexSql,
  tableCatalog,
} from './sql/tables';
import { qualified } from './sql/identifiers';

export type { ShapeCheck, ShapeColumn, ShapeIndex } from './sql/tables';

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

/**
 * The steps from `from` to `to`, for table `schema.name`. Types compare as given: call with
 * canonical types (`canonicalTypes`) when one side comes from the catalog.
 */
export function shapeSteps(schema: string, name: string, from: TableShape, to: TableShape): ShapeStep[] {
  const steps: ShapeStep[] = [];
  const before = new Map(from.columns.map((c) => [c.name, c]));
  const after = new Map(to.columns.map((c) => [c.name, c]));
  for (const c of to.columns) {
    const was = before.get(c.name);
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
        sql: [alterTable.addColumn(schema, name, c)],
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
        sql: [alterTable.setDefault(schema, name, c.name, c.default)],
        column: c.name,
      });
    }
    if (was.notNull && !c.notNull) {
      steps.push({
        kind: 'additive',
        describe: `allow NULL in ${c.name}`,
        sql: [alterTable.dropNotNull(schema, name, c.name)],
        column: c.name,
      });
    } else if (!was.notNull && c.notNull) {
      steps.push({
        kind: 'destructive',
        describe: `forbid NULL in ${c.name}`,
        sql: [alterTable.setNotNull(schema, name, c.name)],
        column: c.name,
      });
    }
  }
  for (const c of from.columns) {
    if (!after.has(c.name)) {
      steps.push({
        kind: 'destructive',
        describe: `drop column ${c.name}`,
        sql: [alterTable.dropColumn(schema, name, c.name)],
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
        sql: [indexSql.drop(schema, index.name)],
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
        sql: [indexSql.drop(schema, index.name)],
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
        sql: [alterTable.dropConstraint(schema, name, check.name)],
      });
    }
    steps.push({
      kind: 'destructive',
      describe: `add check ${check.name}: ${check.expression}`,
      sql: alterTable.addCheck(schema, name, check),
    });
  }
  for (const check of from.checks) {
    if (!to.checks.some((c) => c.name === check.name)) {
      steps.push({
        kind: 'additive',
        describe: `drop check ${check.name}`,
        sql: [alterTable.dropConstraint(schema, name, check.name)],
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
  const exists = await client.query<{ oid: string | null }>(tableCatalog.oid, [qualified(schema, name)]);
  const oid = exists.rows[0]?.oid;
  if (oid === null || oid === undefined) return undefined;
  const columns = await client.query<{ name: string; type: string; not_null: boolean; dflt: string | null }>(
    tableCatalog.columns,
    [oid],
  );
  const indexes = await client.query<{ name: string; columns: string[]; unique: boolean }>(
    tableCatalog.indexes,
    [oid],
  );
  const checks = await client.query<{ name: string; def: string }>(tableCatalog.checks, [oid]);
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
  const rows = await inTransaction(client, async () => {
    // One statement, by the extended protocol.
    await client.query({
      text: canonicalTable.create(columns),
      values: [],
      queryMode: 'extended',
    } as import('pg').QueryConfig);
    return (await client.query<{ name: string; type: string; dflt: string | null }>(canonicalTable.columns))
      .rows;
  });
  return columns.map((c, i) => {
    const row = rows.find((r) => r.name === `c${i}`);
    return {
      name: c.name,
      type: row?.type ?? c.type,
      notNull: c.notNull,
      ...(row?.dflt != null ? { default: row.dflt } : {}),
    };
  });
}

/** A table's shape as declared: columns with their defaults as SQL text (sql/tables.ts), indexes, checks. */
export function declaredShape(t: {
  member: string;
  columns: DeclaredColumn[];
  ownerColumn: string;
  indexes?: ShapeIndex[];
  checks?: ShapeCheck[];
}): TableShape {
  return { columns: declaredColumns(t), indexes: t.indexes ?? [], checks: t.checks ?? [] };
}
