/**
 * The SQL in `sql/`, loaded and rendered in one place.
 *
 * Templates use psql's variable syntax: `:"name"` is replaced by a quoted identifier and `:'name'` by
 * a quoted literal (pg's escapeIdentifier/escapeLiteral). `:{name}` takes a fragment built by this
 * program's own builders from validated config (a column list), never raw config text. A template
 * that names a variable we were not given is an error, never an empty string.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { escapeIdentifier, escapeLiteral } from 'pg';

export const SQL_DIR = path.join(__dirname, '..', 'sql');

export type SqlFile =
  'federation' | 'table' | 'partition' | 'guard' | 'node-name-pgnodemx' | 'node-name-static';

export function sqlTemplate(file: SqlFile): string {
  return readFileSync(path.join(SQL_DIR, `${file}.sql`), 'utf8');
}

export interface SqlVariables {
  identifiers?: Record<string, string>;
  literals?: Record<string, string>;
  /** Fragments made by this program's builders (components/providers/sql/tables.ts). */
  fragments?: Record<string, string>;
}

/** Replace `:"ident"`, `:'literal'` and `:{fragment}` variables; `::` casts are left alone. */
export function renderSql(template: string, vars: SqlVariables): string {
  const missing = new Set<string>();
  const text = template.replace(
    /(?<!:):(?:(["'])([a-z_][a-z0-9_]*)\1|\{([a-z_][a-z0-9_]*)\})/g,
    (_match, quote: string | undefined, name: string | undefined, fragment: string | undefined) => {
      if (fragment !== undefined) {
        const value = vars.fragments?.[fragment];
        if (value === undefined) missing.add(`{${fragment}}`);
        return value ?? '';
      }
      const key = name as string;
      const value = quote === '"' ? vars.identifiers?.[key] : vars.literals?.[key];
      if (value === undefined) {
        missing.add(`${quote}${key}${quote}`);
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
