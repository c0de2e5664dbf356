/**
 * Every name the federation derives from a member's name, in one place.
 *
 * Two kinds of names are kept apart (as pulumi-awsx does for subnets):
 * - Pulumi resource names (URNs): stable, derived from the member name only, so changing a display
 *   or SQL detail never replaces a resource;
 * - SQL and Kubernetes names: seed-compatible by default (`hippo_east`, `pub_hippo_east`,
 *   `sub_hippo_east_hippo_central`), so the seed's own verification queries work verbatim.
 */

/** PostgreSQL's NAMEDATALEN - 1: longer identifiers are silently truncated by the server. */
export const MAX_IDENTIFIER_BYTES = 63;

/** A Kubernetes DNS-1035 label: what PGO accepts as a PostgresCluster name. */
export const DNS_1035_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** A Kubernetes DNS-1123 label: a namespace name. */
export const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The longest member name whose publication name (`pub_<stem>`) fits NAMEDATALEN. */
export const MAX_MEMBER_NAME = MAX_IDENTIFIER_BYTES - 'pub_'.length;

/** A lowercase SQL name that needs no quoting and fits NAMEDATALEN (what every derived name must be). */
export function isSqlName(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    /^[a-z_][a-z0-9_]*$/.test(name) &&
    identifierBytes(name) <= MAX_IDENTIFIER_BYTES
  );
}

/** A member name turned into the SQL identifier stem used by every derived object. */
export function sqlStem(member: string): string {
  return member.replace(/-/g, '_');
}

/** The partition that holds `member`'s rows, from the configured template (`{member}` → `hippo_east`). */
export function partitionName(template: string, member: string): string {
  return template.split('{member}').join(sqlStem(member));
}

/** The publication on `member` that publishes its own partition: `pub_hippo_east`. */
export function publicationName(member: string): string {
  return `pub_${sqlStem(member)}`;
}

/** The subscription on `subscriber` to `publisher`'s publication: `sub_hippo_east_hippo_central`. */
export function subscriptionName(subscriber: string, publisher: string): string {
  return `sub_${sqlStem(subscriber)}_${sqlStem(publisher)}`;
}

/** The replication slot the subscription holds on its publisher (PostgreSQL's default: the subscription name). */
export function slotName(subscriber: string, publisher: string): string {
  return subscriptionName(subscriber, publisher);
}

/**
 * The name PostgreSQL gives a derived object, as its `makeObjectName` does: `<name>_<label>`, with
 * the name clipped so that the whole fits NAMEDATALEN (`hippo_east_pkey` for a partition's primary key).
 */
export function derivedName(name: string, label: string): string {
  const room = MAX_IDENTIFIER_BYTES - label.length - 1;
  let clipped = name;
  while (identifierBytes(clipped) > room) clipped = clipped.slice(0, -1);
  return `${clipped}_${label}`;
}

/**
 * A valid member name close to `name`, for error messages: ASCII letters and digits, '-' between
 * words, starting with a letter, short enough for every derived name. Falls back to `member-<n>`.
 */
export function suggestMemberName(name: string, index: number): string {
  const words = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '');
  let label = words.join('-').replace(/^[^a-z]+/, '');
  label = label.slice(0, MAX_MEMBER_NAME).replace(/-+$/, '');
  return DNS_1035_LABEL.test(label) ? label : `member-${index + 1}`;
}

/**
 * Pulumi resource names of what lives on a member's server (`<member>-table-<table>`, ...): stable,
 * derived from member and table names only.
 */
export const resourceNames = {
  table: (member: string, table: string): string => `${member}-table-${table}`,
  partition: (member: string, table: string, owner: string): string =>
    `${member}-partition-${table}-${owner}`,
  grant: (member: string, table: string): string => `${member}-replication-grant-${table}`,
  publication: (member: string): string => `${member}-publication`,
  subscription: (subscriber: string, publisher: string): string => `${subscriber}-sub-${publisher}`,
  nodeNameFunction: (member: string): string => `${member}-get-node-name`,
  pgnodemx: (member: string): string => `${member}-pgnodemx`,
  replicationPassword: (member: string): string => `${member}-replication-password`,
  replicationRole: (member: string): string => `${member}-replication-role`,
};

/**
 * The names a one-table stack (before `tables` existed) gave the same resources: the table named by
 * the `table` key keeps them as aliases, so such a stack sees no change.
 */
export const legacyResourceNames = {
  table: (member: string): string => `${member}-table`,
  partition: (member: string, owner: string): string => `${member}-partition-${owner}`,
  grant: (member: string): string => `${member}-replication-grant`,
};

/** The byte length PostgreSQL counts against NAMEDATALEN. */
export function identifierBytes(identifier: string): number {
  return Buffer.byteLength(identifier, 'utf8');
}
