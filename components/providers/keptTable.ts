/** A table kept from an earlier detach, brought to its table's shape before it is attached again. */
import type { Client } from 'pg';
import { report } from './connection';
import { qualified } from './sql/identifiers';
import { partitions } from './sql/partitions';
import { tableCatalog } from './sql/tables';

interface CatalogColumn {
  name: string;
  type: string;
  not_null: boolean;
  dflt: string | null;
}

async function columnsOf(client: Client, schema: string, table: string): Promise<CatalogColumn[]> {
  const oid = (await client.query<{ oid: string | null }>(tableCatalog.oid, [qualified(schema, table)]))
    .rows[0]?.oid;
  return oid === null || oid === undefined
    ? []
    : (await client.query<CatalogColumn>(tableCatalog.columns, [oid])).rows;
}

/**
 * A table kept from an earlier detach (its member left, the stack was destroyed) missed every change
 * of shape made since: the columns its table gained are added to it, as the table has them, before it
 * is attached again. A column it holds that the table no longer has (dropped meanwhile) is not dropped
 * here: its values are the kept table's own, so the attach stops, saying how to go on.
 */
export async function alignKeptTable(
  client: Client,
  inputs: { schema: string; table: string; partition: string; member: string },
): Promise<void> {
  const parent = await columnsOf(client, inputs.schema, inputs.table);
  const kept = await columnsOf(client, inputs.schema, inputs.partition);
  const extra = kept.filter((c) => !parent.some((p) => p.name === c.name)).map((c) => c.name);
  if (extra.length > 0) {
    throw new Error(
      `the kept table ${inputs.schema}.${inputs.partition} (from an earlier detach) has column(s) ${extra.join(', ')} ` +
        `that ${inputs.schema}.${inputs.table} no longer has; drop them from it (ALTER TABLE … DROP COLUMN) ` +
        `or rename the table to keep it aside, then run again`,
    );
  }
  const missing = parent.filter((p) => !kept.some((c) => c.name === p.name));
  for (const c of missing) await client.query(partitions.addColumn(inputs, c));
  if (missing.length > 0) {
    report(
      `partition ${inputs.schema}.${inputs.partition} on member "${inputs.member}": the kept table gained ` +
        `${missing.map((c) => c.name).join(', ')}, which ${inputs.table} got while it was detached`,
    );
  }
}
