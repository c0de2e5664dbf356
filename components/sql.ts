/**
 * The SQL in `sql/`, loaded and rendered in one place.
 *
 * Templates use psql's variable syntax: `:"name"` is replaced by a quoted identifier and `:'name'` by
 * a quoted literal (pg's escapeIdentifier/escapeLiteral). A template that names a variable we were
 * not given is an error, never an empty string.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { escapeIdentifier, escapeLiteral } from 'pg';

export const SQL_DIR = path.join(__dirname, '..', 'sql');

export type SqlFile =
  'table' | 'partition' | 'guard' | 'node-name-pgnodemx' | 'node-name-static' | 'function' | 'verify';

export function sqlTemplate(file: SqlFile): string {
  return readFileSync(path.join(SQL_DIR, `${file}.sql`), 'utf8');
}

export interface SqlVariables {
  identifiers?: Record<string, string>;
  literals?: Record<string, string>;
}

/** Replace `:"ident"` and `:'literal'` variables; `::` casts are left alone. */
export function renderSql(template: string, vars: SqlVariables): string {
  const missing = new Set<string>();
  const text = template.replace(
    /(?<!:):(["'])([a-z_][a-z0-9_]*)\1/g,
    (_match, quote: string, name: string) => {
      const value = quote === '"' ? vars.identifiers?.[name] : vars.literals?.[name];
      if (value === undefined) {
        missing.add(`${quote}${name}${quote}`);
        return '';
      }
      return quote === '"' ? escapeIdentifier(value) : escapeLiteral(value);
    },
  );
  if (missing.size > 0) throw new Error(`SQL template needs variable(s) ${[...missing].join(', ')}`);
  return text;
}

/** Render one of the files in `sql/`. */
export function renderSqlFile(file: SqlFile, vars: SqlVariables): string {
  return renderSql(sqlTemplate(file), vars);
}
