/**
 * What @pulumi/postgresql's resources (Function, Extension, Publication, Role, Grant) do on a server,
 * as SQL built from the plan's records: for the engine-less driver only (scripts/embedded/driver.ts).
 * The program itself declares those resources; the end-to-end tests run them through the engine.
 */
import { ident, literal, qualified } from '../../components/providers/sql/identifiers';
import type {
  ExtensionInputs,
  FunctionInputs,
  GrantInputs,
  PublicationInputs,
  RoleInputs,
} from '../../components/plan';

/** `schema.table` as the Publication resource takes it, quoted. */
function qualifiedName(object: string): string {
  const [schema, name] = object.split('.') as [string, string];
  return qualified(schema, name);
}

export const postgresqlResources = {
  extension(e: ExtensionInputs): string {
    return `CREATE EXTENSION IF NOT EXISTS ${ident(e.name)}`;
  },
  function(f: FunctionInputs): string {
    return (
      `CREATE OR REPLACE FUNCTION ${qualified(f.schema, f.name)}() RETURNS ${f.returns} ` +
      `LANGUAGE ${f.language} ${f.volatility}${f.securityDefiner ? ' SECURITY DEFINER' : ''} AS ${literal(f.body)}`
    );
  },
  publication(p: PublicationInputs): string {
    return `CREATE PUBLICATION ${ident(p.name)} FOR TABLE ${p.tables.map(qualifiedName).join(', ')}`;
  },
  dropPublication(p: Pick<PublicationInputs, 'name'>): string {
    return `DROP PUBLICATION IF EXISTS ${ident(p.name)}`;
  },
  role(r: RoleInputs, password: string): string {
    return `CREATE ROLE ${ident(r.name)}${r.login ? ' LOGIN' : ''}${r.replication ? ' REPLICATION' : ''} PASSWORD ${literal(password)}`;
  },
  dropRole(r: Pick<RoleInputs, 'name'>): string[] {
    return [`DROP OWNED BY ${ident(r.name)}`, `DROP ROLE ${ident(r.name)}`];
  },
  grant(g: GrantInputs): string {
    return `GRANT ${g.privileges.join(', ')} ON ${g.objects.map((o) => qualified(g.schema, o)).join(', ')} TO ${ident(g.role)}`;
  },
  revoke(g: GrantInputs): string {
    return `REVOKE ${g.privileges.join(', ')} ON ${g.objects.map((o) => qualified(g.schema, o)).join(', ')} FROM ${ident(g.role)}`;
  },
};
