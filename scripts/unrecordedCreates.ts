/**
 * The one thing an interrupted `pulumi up` can leave that this program's providers cannot adopt: a
 * create of the `postgresql` provider (a publication or a role) cut short after its statement
 * committed and before Pulumi recorded it. The next `up` then fails with `… already exists`. Such an
 * object is unknown to the state, so nothing the state holds uses it (subscriptions to a
 * publication and grants to a role come after it in the graph): dropping it lets the `up` make it
 * again. These are found in the engine's output, with the member whose server holds them.
 */
import { escapeIdentifier } from 'pg';

export interface UnrecordedCreate {
  member: string;
  kind: 'publication' | 'role';
  name: string;
}

/** The `already exists` failures of postgresql-provider creates in an engine's output. */
export function unrecordedCreates(output: string): UnrecordedCreate[] {
  const found = new Map<string, UnrecordedCreate>();
  const line =
    /postgresql:index:(?:Publication|Role) (\S+?)-(?:publication|replication-role) .*?\b(publication|role) "([^"]+)" already exists/;
  for (const text of output.split('\n')) {
    const m = line.exec(text);
    if (m === null) continue;
    const [, member = '', kind = '', name = ''] = m;
    found.set(`${member}/${kind}/${name}`, { member, kind: kind as UnrecordedCreate['kind'], name });
  }
  return [...found.values()];
}

/** The statement that drops one (a role that holds anything is refused by PostgreSQL itself). */
export function dropUnrecorded(u: UnrecordedCreate): string {
  return `DROP ${u.kind === 'publication' ? 'PUBLICATION' : 'ROLE'} ${escapeIdentifier(u.name)}`;
}
