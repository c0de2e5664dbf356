/**
 * Quoting for every statement the providers build: identifiers through pg's escapeIdentifier,
 * literals through escapeLiteral. Serialized by value into the providers, so `pg` is required by
 * name inside each function.
 */

function pg(): typeof import('pg') {
  return require('pg') as typeof import('pg');
}

/** `"name"`. */
export function ident(name: string): string {
  return pg().escapeIdentifier(name);
}

/** `'text'`. */
export function literal(value: string): string {
  return pg().escapeLiteral(value);
}

/** `"schema"."name"`. */
export function qualified(schema: string, name: string): string {
  return `${ident(schema)}.${ident(name)}`;
}

/** `("a", "b")`. */
export function columnList(columns: string[]): string {
  return `(${columns.map((c) => ident(c)).join(', ')})`;
}

/** The LIST bound of a member's partition: `FOR VALUES IN ('hippo-east')`, as pg_get_expr prints it. */
export function listBound(owner: string): string {
  return `FOR VALUES IN (${literal(owner)})`;
}
