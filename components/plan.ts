/**
 * The federation, decided once (as pulumi-awsx's `decideSubnetSpecs`): a pure function from config
 * to a per-member plan — its tables, its partitions of every table (with guards), its publication's
 * objects, its grants, and its subscriptions with their landing partitions — with every name and
 * every piece of SQL. The components, the local job, the benchmark and the test harness all iterate
 * this plan; none of them derives a name or SQL on its own.
 *
 * Resource names: `<member>-table-<table>`, `<member>-partition-<table>-<owner>`,
 * `<member>-replication-grant-<table>`. Stacks made before `tables` existed had one table and names
 * without it (`<member>-table`, `<member>-partition-<owner>`, `<member>-replication-grant`); the
 * table named by the `table` key keeps those as aliases, so such a stack sees no change.
 */
import type { FederationConfig, MemberConfig } from './config';
import {
  MAX_IDENTIFIER_BYTES,
  PGO_OBJECT_SUFFIXES,
  derivedName,
  identifierBytes,
  partitionName,
  publicationName,
  slotName,
  subscriptionName,
} from './naming';
import { renderSqlFile } from './sql';
import { type TableSpec, columnsSql, primaryKeySql } from './tables';

/** What a FederatedTable declares of its table's shape. */
export type TableShapeInputs = Pick<
  TableSpec,
  'columns' | 'primaryKey' | 'ownerColumn' | 'defaultPartition' | 'indexes' | 'checks'
>;

export interface TablePlan {
  member: string;
  spec: TableSpec;
  /** The shape its FederatedTable declares. */
  shape: TableShapeInputs;
  schema: string;
  resourceName: string;
  aliases: string[];
  /** sql/federation.sql and sql/table.sql rendered for this member: idempotent DDL. */
  sql: string;
}

export interface PartitionPlan {
  /** The member whose server holds the partition. */
  member: string;
  /** The member whose rows it holds. */
  owner: string;
  table: string;
  schema: string;
  partition: string;
  resourceName: string;
  aliases: string[];
  createSql: string;
  /** The ownership guard (sql/guard.sql) on another member's partition; '' on the member's own. */
  guardSql: string;
  /** The member's own partition: the publication it belongs to. Another member's: ''. */
  publication: string;
  /** Another member's partition: the subscription that fills it. The member's own: ''. */
  subscription: string;
}

export interface GrantPlan {
  member: string;
  table: string;
  resourceName: string;
  aliases: string[];
  /** The member's own partition of the table, which the replication role may read. */
  objects: string[];
}

export interface Landing {
  schema: string;
  table: string;
  partition: string;
}

export interface SubscriptionPlan {
  subscriber: string;
  publisher: string;
  name: string;
  slotName: string;
  publication: string;
  resourceName: string;
  /** The subscriber's copies of the publisher's partitions: all the subscription may write into. */
  landings: Landing[];
}

export interface MemberPlan {
  member: MemberConfig;
  /** The body of `get_node_name()`. */
  nodeNameBody: string;
  tables: TablePlan[];
  partitions: PartitionPlan[];
  publication: { name: string; resourceName: string; objects: string[] };
  grants: GrantPlan[];
  /** This member's subscriptions, one to every other member. */
  subscriptions: SubscriptionPlan[];
}

export interface FederationPlan {
  members: MemberPlan[];
  subscriptions: SubscriptionPlan[];
}

export const resourceNames = {
  table: (member: string, table: string): string => `${member}-table-${table}`,
  partition: (member: string, table: string, owner: string): string =>
    `${member}-partition-${table}-${owner}`,
  grant: (member: string, table: string): string => `${member}-replication-grant-${table}`,
  publication: (member: string): string => `${member}-publication`,
  subscription: (subscriber: string, publisher: string): string => `${subscriber}-sub-${publisher}`,
};

/** The names a one-table stack gave the same resources. */
const legacyNames = {
  table: (member: string): string => `${member}-table`,
  partition: (member: string, owner: string): string => `${member}-partition-${owner}`,
  grant: (member: string): string => `${member}-replication-grant`,
};

function partitionPlan(cfg: FederationConfig, spec: TableSpec, member: string, owner: string): PartitionPlan {
  const partition = partitionName(spec.partitionTemplate, owner);
  const legacy = spec.name === cfg.legacyTable;
  const own = owner === member;
  return {
    member,
    owner,
    table: spec.name,
    schema: cfg.schema,
    partition,
    resourceName: resourceNames.partition(member, spec.name, owner),
    aliases: legacy ? [legacyNames.partition(member, owner)] : [],
    createSql: renderSqlFile('partition', {
      identifiers: { schema: cfg.schema, table: spec.name, partition },
      literals: { member: owner },
      fragments: { primary_key: primaryKeySql(spec) },
    }),
    guardSql: own
      ? ''
      : renderSqlFile('guard', { identifiers: { schema: cfg.schema, partition }, literals: { owner } }),
    publication: own ? publicationName(member) : '',
    subscription: own ? '' : subscriptionName(member, owner),
  };
}

function tablePlan(cfg: FederationConfig, spec: TableSpec, member: string): TablePlan {
  const shared = renderSqlFile('federation', { identifiers: { schema: cfg.schema }, literals: { member } });
  const table = renderSqlFile('table', {
    identifiers: {
      schema: cfg.schema,
      table: spec.name,
      default_partition: spec.defaultPartition,
      owner_column: spec.ownerColumn,
    },
    literals: { member },
    fragments: { columns: columnsSql(spec, member), primary_key: primaryKeySql(spec) },
  });
  return {
    member,
    spec,
    shape: {
      columns: spec.columns,
      primaryKey: spec.primaryKey,
      ownerColumn: spec.ownerColumn,
      defaultPartition: spec.defaultPartition,
      indexes: spec.indexes,
      checks: spec.checks,
    },
    schema: cfg.schema,
    resourceName: resourceNames.table(member, spec.name),
    aliases: spec.name === cfg.legacyTable ? [legacyNames.table(member)] : [],
    sql: `${shared}\n${table}`,
  };
}

function subscriptionPlan(cfg: FederationConfig, subscriber: string, publisher: string): SubscriptionPlan {
  return {
    subscriber,
    publisher,
    name: subscriptionName(subscriber, publisher),
    slotName: slotName(subscriber, publisher),
    publication: publicationName(publisher),
    resourceName: resourceNames.subscription(subscriber, publisher),
    landings: cfg.tables.map((t) => ({
      schema: cfg.schema,
      table: t.name,
      partition: partitionName(t.partitionTemplate, publisher),
    })),
  };
}

/**
 * The body of `get_node_name()`: over pgnodemx's Kubernetes labels where PGO provides them (the
 * seed's), the member's own name elsewhere.
 */
function nodeNameBody(member: MemberConfig): string {
  return (
    member.nodeName === 'pgnodemx'
      ? renderSqlFile('node-name-pgnodemx', {})
      : renderSqlFile('node-name-static', { literals: { member: member.name } })
  ).trim();
}

/** The whole federation. */
export function plan(cfg: FederationConfig): FederationPlan {
  const names = cfg.members.map((m) => m.name);
  const members = cfg.members.map((member): MemberPlan => {
    const partitions = cfg.tables.flatMap((spec) =>
      names.map((owner) => partitionPlan(cfg, spec, member.name, owner)),
    );
    const own = partitions.filter((p) => p.owner === member.name);
    return {
      member,
      nodeNameBody: nodeNameBody(member),
      tables: cfg.tables.map((spec) => tablePlan(cfg, spec, member.name)),
      partitions,
      publication: {
        name: publicationName(member.name),
        resourceName: resourceNames.publication(member.name),
        objects: own.map((p) => `${p.schema}.${p.partition}`),
      },
      grants: own.map((p) => ({
        member: member.name,
        table: p.table,
        resourceName: resourceNames.grant(member.name, p.table),
        aliases: p.table === cfg.legacyTable ? [legacyNames.grant(member.name)] : [],
        objects: [p.partition],
      })),
      subscriptions: names
        .filter((publisher) => publisher !== member.name)
        .map((publisher) => subscriptionPlan(cfg, member.name, publisher)),
    };
  });
  return { members, subscriptions: members.flatMap((m) => m.subscriptions) };
}

/** The plan of one member. */
export function memberPlan(p: FederationPlan, member: string): MemberPlan {
  const found = p.members.find((m) => m.member.name === member);
  if (found === undefined) throw new Error(`no member named ${member} in the plan`);
  return found;
}

interface Claim {
  name: string;
  /** What makes the name, for the message. */
  what: string;
  /** The config key to change. */
  key: string;
}

/**
 * Every name the plan would give two things at once, and every name PostgreSQL would truncate,
 * as config problems. Relations share one namespace per schema on every server: tables, their
 * DEFAULT partitions, every member's partitions, and the primary key index PostgreSQL names
 * `<partition>_pkey` for each of them.
 */
export function nameCollisions(cfg: FederationConfig): string[] {
  const problems: string[] = [];
  const memberKey = (name: string): string =>
    `pg-federation:members[${cfg.members.findIndex((m) => m.name === name)}].name`;
  const tableKey = (i: number, key: string): string =>
    cfg.tables.length === 1 && cfg.tables[0]?.name === cfg.legacyTable && i === 0
      ? `pg-federation:${key === 'name' ? 'table' : key}`
      : `pg-federation:tables[${i}].${key}`;

  const relations: Claim[] = [];
  cfg.tables.forEach((t, i) => {
    relations.push({ name: t.name, what: `table ${t.name}`, key: tableKey(i, 'name') });
    relations.push({
      name: t.defaultPartition,
      what: `the DEFAULT partition of ${t.name}`,
      key: tableKey(i, 'defaultPartition'),
    });
    relations.push({
      name: derivedName(t.defaultPartition, 'pkey'),
      what: `the primary key PostgreSQL makes for ${t.defaultPartition}`,
      key: tableKey(i, 'defaultPartition'),
    });
    for (const m of cfg.members) {
      const partition = partitionName(t.partitionTemplate, m.name);
      const where = `the partition of member "${m.name}" in ${t.name}`;
      if (identifierBytes(partition) > MAX_IDENTIFIER_BYTES) {
        problems.push(
          `${memberKey(m.name)}: ${where} would be "${partition}", ${identifierBytes(partition)} bytes, over PostgreSQL's ` +
            `${MAX_IDENTIFIER_BYTES}; use a shorter member name or partitionTemplate`,
        );
        continue;
      }
      relations.push({ name: partition, what: `${where} ("${partition}")`, key: memberKey(m.name) });
      relations.push({
        name: derivedName(partition, 'pkey'),
        what: `the primary key PostgreSQL makes for ${partition}`,
        key: memberKey(m.name),
      });
    }
  });
  problems.push(...duplicates(relations));

  const names = cfg.members.map((m) => m.name);
  for (const s of names) {
    for (const p of names) {
      if (s === p) continue;
      const sub = subscriptionName(s, p);
      if (identifierBytes(sub) > MAX_IDENTIFIER_BYTES) {
        problems.push(
          `pg-federation:members: the subscription name "${sub}" (for "${s}" ← "${p}") is ${identifierBytes(sub)} bytes, ` +
            `over PostgreSQL's ${MAX_IDENTIFIER_BYTES}; keep any two member names within ${MAX_IDENTIFIER_BYTES - 5} characters together`,
        );
      }
    }
  }

  // PGO names the objects of a cluster `<cluster>-<suffix>` in its namespace.
  const pgo = cfg.members.filter((m) => m.kind === 'pgo');
  for (const a of pgo) {
    for (const b of pgo) {
      if (a === b || a.namespace !== b.namespace || !a.name.startsWith(`${b.name}-`)) continue;
      const rest = a.name.slice(b.name.length + 1);
      const suffix = PGO_OBJECT_SUFFIXES.find((x) => rest === x || rest.startsWith(`${x}-`));
      if (suffix !== undefined) {
        problems.push(
          `${memberKey(a.name)}: "${a.name}" is a name PGO gives an object of member "${b.name}" ` +
            `(\`<cluster>-${suffix}…\`) in namespace ${a.namespace}; rename the member`,
        );
      }
    }
  }

  if (problems.length === 0) {
    const p = plan(cfg);
    const resources: Claim[] = p.members.flatMap((m) =>
      [
        ...m.tables.flatMap((t) => [t.resourceName, ...t.aliases]),
        ...m.partitions.flatMap((x) => [x.resourceName, ...x.aliases]),
        ...m.grants.flatMap((g) => [g.resourceName, ...g.aliases]),
        m.publication.resourceName,
        ...m.subscriptions.map((s) => s.resourceName),
      ].map((name) => ({ name, what: `Pulumi resource ${name}`, key: memberKey(m.member.name) })),
    );
    problems.push(...duplicates(resources));
  }
  return problems;
}

function duplicates(claims: Claim[]): string[] {
  const first = new Map<string, Claim>();
  const problems: string[] = [];
  for (const claim of claims) {
    const earlier = first.get(claim.name);
    if (earlier === undefined) {
      first.set(claim.name, claim);
    } else if (earlier.what !== claim.what) {
      problems.push(
        `${claim.key}: ${claim.what} and ${earlier.what} would both be named "${claim.name}"; ` +
          `rename one (${claim.key === earlier.key ? claim.key : `${claim.key} or ${earlier.key}`})`,
      );
    }
  }
  return problems;
}
