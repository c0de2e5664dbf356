/**
 * A platform team's own Pulumi program with a federation in it: pg-federation installed from its
 * package, its `Federation` declared from this program's own config, next to a resource of the
 * program's own that uses a member's connection.
 */
import * as pulumi from '@pulumi/pulumi';
import * as postgresql from '@pulumi/postgresql';
import { type ExternalMemberSettings, Federation } from 'pg-federation';

const config = new pulumi.Config();
const members = config.requireObject<ExternalMemberSettings[]>('members');
const password = config.requireSecret('password');

const federation = new Federation('hippos', {
  members,
  syncTimeoutSeconds: 120,
  passwords: Object.fromEntries(members.map((m) => [m.name, password])),
});

// The program's own resource: a role for its reporting jobs on the first member, made through the
// provider the federation holds for that member, once the federation is in place.
const first = federation.nodes.get(members[0].name);
if (first === undefined) throw new Error(`no member ${members[0].name}`);
const reporting = new postgresql.Role(
  'reporting',
  { name: 'reporting', login: false },
  { provider: first.provider, dependsOn: [federation] },
);

export const memberNames = Object.keys(federation.summary);
export const reportingRole = reporting.name;
