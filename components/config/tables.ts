/**
 * Federated tables: their declared shape, validated, and the seed's `hippos` as the default.
 *
 * A table is LIST-partitioned by its owner column, whose value in every row is the name of the member
 * that wrote it; each member's partition carries the primary key (the replica identity logical
 * replication needs for UPDATE and DELETE). Column types and default expressions are SQL text, so
 * they are held to a small grammar that cannot carry anything but a type or a function call. The
 * DDL made of a declaration is built in components/providers/sql/tables.ts.
 */
import { z } from 'zod';
import { derivedName, isSqlName } from '../naming';

export interface ColumnSpec {
  name: string;
  /** A PostgreSQL type: `uuid`, `text`, `numeric(10,2)`, `timestamp with time zone`, `text[]`. */
  type: string;
  notNull: boolean;
  /** A constant default (quoted as a literal). */
  default?: string | number | boolean;
  /** A default that calls a function without arguments, e.g. `gen_random_uuid()` or `now()`. */
  defaultExpression?: string;
}

/** An index of the table (on the parent, and so on every partition). */
export interface IndexSpec {
  name: string;
  columns: string[];
  /** Unique across the table: must include the owner column (a partitioned table's rule). */
  unique: boolean;
}

/** A CHECK constraint, its expression held to a small grammar (columns, constants, operators). */
export interface CheckSpec {
  name: string;
  expression: string;
}

export interface TableSpec {
  name: string;
  columns: ColumnSpec[];
  primaryKey: string[];
  indexes: IndexSpec[];
  checks: CheckSpec[];
  /** The LIST partition key: the name of the member that owns the row. */
  ownerColumn: string;
  /** Each member's partition: `{member}` is the member name with '-' turned into '_'. */
  partitionTemplate: string;
  /** The DEFAULT partition (rows whose owner is not a member; it takes no writes). */
  defaultPartition: string;
}

/** The seed's table (`hippos`), partitions and DEFAULT partition. */
export const SEED_TABLE: TableSpec = {
  name: 'hippos',
  columns: [
    { name: 'id', type: 'uuid', notNull: true, defaultExpression: 'gen_random_uuid()' },
    { name: 'node_name', type: 'text', notNull: false },
    { name: 'value', type: 'datemultirange', notNull: false },
    { name: 'created_at', type: 'timestamptz', notNull: false },
  ],
  primaryKey: ['id'],
  indexes: [],
  checks: [],
  ownerColumn: 'node_name',
  partitionTemplate: '{member}',
  defaultPartition: 'hippo_default',
};

/**
 * A type name, optionally schema-qualified, of words (`double precision`), with an optional
 * `(n)` or `(p,s)` modifier, a `with[out] time zone` tail and array brackets. No quotes, no
 * semicolons, nothing else.
 */
const TYPE =
  /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?( [a-z_][a-z0-9_]*)*(\(\d{1,4}(,\s?\d{1,4})?\))?( with(out)? time zone)?(\[\])*$/;
/** A call of a function without arguments: `gen_random_uuid()`, `now()`, `pg_catalog.clock_timestamp()`. */
const CALL = /^([a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*\(\)$/;
const SYSTEM_COLUMNS = ['tableoid', 'xmin', 'cmin', 'xmax', 'cmax', 'ctid', 'oid'];

const columnSchema = z.strictObject({
  name: z.string(),
  type: z.string(),
  notNull: z.boolean().default(false),
  default: z.union([z.string(), z.number(), z.boolean()]).optional(),
  defaultExpression: z.string().optional(),
});

export const tableSpecSchema = z
  .strictObject({
    name: z.string(),
    columns: z.array(columnSchema).min(1, 'list the columns of the table'),
    primaryKey: z.array(z.string()).min(1, 'name the primary key column(s): logical replication needs it'),
    indexes: z
      .array(
        z.strictObject({
          name: z.string().optional(),
          columns: z.array(z.string()).min(1, 'name the indexed column(s)'),
          unique: z.boolean().default(false),
        }),
      )
      .default([]),
    checks: z.array(z.strictObject({ name: z.string(), expression: z.string() })).default([]),
    ownerColumn: z.string().default('node_name'),
    partitionTemplate: z.string().optional(),
    defaultPartition: z.string().optional(),
  })
  .transform((t): TableSpec => ({
    ...t,
    columns: t.columns.map((c) => ({ ...c })),
    indexes: t.indexes.map((i) => ({
      name: i.name ?? derivedName(`${t.name}_${i.columns.join('_')}`, 'idx'),
      columns: i.columns,
      unique: i.unique,
    })),
    partitionTemplate: t.partitionTemplate ?? `${t.name}_{member}`,
    defaultPartition: t.defaultPartition ?? `${t.name}_default`,
  }));

const SQL_NAME = "must be a lowercase SQL name (letters, digits, '_', at most 63 bytes)";

/** Problems with one table's declaration, each as `<key>: <what and how to fix>`. */
export function validateTable(spec: TableSpec, prefix: string): string[] {
  const at = (key: string): string => (prefix === '' ? key : `${prefix}.${key}`);
  const problems: string[] = [];
  if (!isSqlName(spec.name)) problems.push(`${at('name')}: "${spec.name}" ${SQL_NAME}`);
  if (!spec.partitionTemplate.includes('{member}')) {
    problems.push(
      `${at('partitionTemplate')}: "${spec.partitionTemplate}" must contain {member}, e.g. "{member}" or "orders_{member}"`,
    );
  } else if (!/^[a-z_][a-z0-9_]*$/.test(spec.partitionTemplate.split('{member}').join('m'))) {
    problems.push(
      `${at('partitionTemplate')}: "${spec.partitionTemplate}" must give lowercase SQL names: letters, digits and '_' around {member}`,
    );
  }
  if (!isSqlName(spec.defaultPartition)) {
    problems.push(`${at('defaultPartition')}: "${spec.defaultPartition}" ${SQL_NAME}`);
  } else if (spec.defaultPartition === spec.name) {
    problems.push(
      `${at('defaultPartition')}: "${spec.defaultPartition}" is the table's own name; the DEFAULT partition needs a name of its own, e.g. "${spec.name}_default"`,
    );
  }
  const names = new Set<string>();
  spec.columns.forEach((c, i) => {
    const where = at(`columns[${i}]`);
    if (!isSqlName(c.name)) problems.push(`${where}.name: "${c.name}" ${SQL_NAME}`);
    else if (SYSTEM_COLUMNS.includes(c.name)) {
      problems.push(`${where}.name: "${c.name}" is a PostgreSQL system column; choose another name`);
    } else if (names.has(c.name)) problems.push(`${where}.name: "${c.name}" is listed twice`);
    names.add(c.name);
    if (!TYPE.test(c.type)) {
      problems.push(
        `${where}.type: "${c.type}" is not a type name this program accepts (e.g. uuid, text, numeric(10,2), timestamptz, text[])`,
      );
    }
    if (c.default !== undefined && c.defaultExpression !== undefined) {
      problems.push(`${where}: give default or defaultExpression, not both`);
    }
    if (c.defaultExpression !== undefined && !CALL.test(c.defaultExpression)) {
      problems.push(
        `${where}.defaultExpression: "${c.defaultExpression}" must be a call of a function without arguments, e.g. gen_random_uuid() or now(); use default for a constant`,
      );
    }
    if (c.name === spec.ownerColumn) {
      if (c.type !== 'text') problems.push(`${where}.type: the owner column ${c.name} must be of type text`);
      if (c.default !== undefined || c.defaultExpression !== undefined) {
        problems.push(
          `${where}: the owner column ${c.name} takes no default of yours: each member sets it to its own name`,
        );
      }
    }
  });
  if (!isSqlName(spec.ownerColumn)) problems.push(`${at('ownerColumn')}: "${spec.ownerColumn}" ${SQL_NAME}`);
  const seenKey = new Set<string>();
  spec.primaryKey.forEach((k, i) => {
    if (!names.has(k)) {
      problems.push(`${at(`primaryKey[${i}]`)}: "${k}" is not one of the table's columns`);
    } else if (seenKey.has(k)) problems.push(`${at(`primaryKey[${i}]`)}: "${k}" is listed twice`);
    seenKey.add(k);
  });
  const all = new Set([...names, spec.ownerColumn]);
  const constraintNames = new Set<string>();
  spec.indexes.forEach((index, i) => {
    if (!isSqlName(index.name)) problems.push(`${at(`indexes[${i}].name`)}: "${index.name}" ${SQL_NAME}`);
    else if (constraintNames.has(index.name))
      problems.push(`${at(`indexes[${i}].name`)}: "${index.name}" is used twice`);
    constraintNames.add(index.name);
    for (const c of index.columns) {
      if (!all.has(c))
        problems.push(`${at(`indexes[${i}].columns`)}: "${c}" is not one of the table's columns`);
    }
    if (index.unique && !index.columns.includes(spec.ownerColumn)) {
      problems.push(
        `${at(`indexes[${i}]`)}: a unique index of a partitioned table must include its partition key; add ${spec.ownerColumn} to its columns`,
      );
    }
  });
  spec.checks.forEach((check, i) => {
    if (!isSqlName(check.name)) problems.push(`${at(`checks[${i}].name`)}: "${check.name}" ${SQL_NAME}`);
    else if (constraintNames.has(check.name))
      problems.push(`${at(`checks[${i}].name`)}: "${check.name}" is used twice`);
    constraintNames.add(check.name);
    const why = checkExpressionProblem(check.expression, all);
    if (why !== undefined) problems.push(`${at(`checks[${i}].expression`)}: "${check.expression}" ${why}`);
  });
  return problems;
}

const CHECK_KEYWORDS = new Set([
  'and',
  'or',
  'not',
  'is',
  'null',
  'true',
  'false',
  'in',
  'between',
  'like',
  'ilike',
]);
const CHECK_FUNCTIONS = new Set([
  'length',
  'char_length',
  'lower',
  'upper',
  'abs',
  'coalesce',
  'trim',
  'btrim',
  'isempty',
  'lower_inf',
  'upper_inf',
]);
const CHECK_TOKEN = /\s+|'(?:[^']|'')*'|[a-z_][a-z0-9_]*|\d+(?:\.\d+)?|<>|!=|<=|>=|::|\|\||[=<>+\-*/%(),]/iy;

/**
 * Why a CHECK expression is not one this program runs, or undefined: only the table's columns,
 * constants ('text', numbers, true/false/null), comparison and arithmetic operators, AND/OR/NOT,
 * IS [NOT] NULL, IN, BETWEEN, LIKE, casts to a type name, and a few immutable functions.
 */
export function checkExpressionProblem(expression: string, columns: Set<string>): string | undefined {
  const tokens: string[] = [];
  CHECK_TOKEN.lastIndex = 0;
  while (CHECK_TOKEN.lastIndex < expression.length) {
    const at = CHECK_TOKEN.lastIndex;
    const match = CHECK_TOKEN.exec(expression);
    if (match === null)
      return `has "${expression.slice(at, at + 10)}", which a check here may not hold (columns, constants, operators)`;
    // Unquoted names fold to lower case, as PostgreSQL folds them.
    if (match[0].trim() !== '') tokens.push(match[0].startsWith("'") ? match[0] : match[0].toLowerCase());
  }
  let depth = 0;
  for (const [i, token] of tokens.entries()) {
    if (token === '(') depth++;
    if (token === ')' && --depth < 0) return 'has unbalanced parentheses';
    if (!/^[a-z_]/.test(token)) continue;
    const afterCast = tokens[i - 1] === '::';
    const call = tokens[i + 1] === '(';
    if (columns.has(token) || CHECK_KEYWORDS.has(token) || afterCast) continue;
    if (call && CHECK_FUNCTIONS.has(token)) continue;
    return call
      ? `calls ${token}(), which is not among the functions a check may use (${[...CHECK_FUNCTIONS].join(', ')})`
      : `names ${token}, which is not one of the table's columns`;
  }
  return depth === 0 ? (tokens.length === 0 ? 'is empty' : undefined) : 'has unbalanced parentheses';
}
