/**
 * The federation as a plan: every partition (member × owner) and every subscription
 * (subscriber × publisher, subscriber ≠ publisher), with their names and SQL. Pure, so the program,
 * the tests and the embedded-server harness all build the same mesh.
 */
import type { FederationConfig, MemberConfig } from './config';
import { partitionName, publicationName, resourceNames, slotName, subscriptionName } from './naming';
import { renderSqlFile } from './sql';

export interface PartitionPlan {
  /** The member whose server holds the partition. */
  member: string;
  /** The member whose rows it holds. */
  owner: string;
  partition: string;
  resourceName: string;
  createSql: string;
  /** The ownership guard (sql/guard.sql) on another member's partition; '' on the member's own. */
  guardSql: string;
}

export interface SubscriptionPlan {
  subscriber: string;
  publisher: string;
  name: string;
  slotName: string;
  publication: string;
  resourceName: string;
}

export function partitionPlan(cfg: FederationConfig, member: string, owner: string): PartitionPlan {
  const partition = partitionName(cfg.partitionTemplate, owner);
  return {
    member,
    owner,
    partition,
    resourceName: resourceNames.partition(owner, member),
    createSql: renderSqlFile('partition', {
      identifiers: { schema: cfg.schema, table: cfg.table, partition },
      literals: { member: owner },
    }),
    guardSql:
      owner === member
        ? ''
        : renderSqlFile('guard', { identifiers: { schema: cfg.schema, partition }, literals: { owner } }),
  };
}

export function subscriptionPlan(subscriber: string, publisher: string): SubscriptionPlan {
  return {
    subscriber,
    publisher,
    name: subscriptionName(subscriber, publisher),
    slotName: slotName(subscriber, publisher),
    publication: publicationName(publisher),
    resourceName: resourceNames.subscription(subscriber, publisher),
  };
}

export function meshPlan(cfg: FederationConfig): {
  partitions: PartitionPlan[];
  subscriptions: SubscriptionPlan[];
} {
  const names = cfg.members.map((m) => m.name);
  return {
    partitions: names.flatMap((member) => names.map((owner) => partitionPlan(cfg, member, owner))),
    subscriptions: names.flatMap((subscriber) =>
      names
        .filter((publisher) => publisher !== subscriber)
        .map((publisher) => subscriptionPlan(subscriber, publisher)),
    ),
  };
}

/** `sql/table.sql` rendered for one member of this federation. */
export function tableSql(cfg: FederationConfig, member: string): string {
  return renderSqlFile('table', {
    identifiers: { schema: cfg.schema, table: cfg.table, default_partition: cfg.defaultPartition },
    literals: { member },
  });
}

/**
 * The body of `get_node_name()`: over pgnodemx's Kubernetes labels on PGO members (the seed's), the
 * member's own name elsewhere (pgnodemx exists only under PGO).
 */
export function nodeNameFunctionBody(cfg: FederationConfig, member: MemberConfig): string {
  const body = usesPgnodemx(cfg, member)
    ? renderSqlFile('node-name-pgnodemx', {})
    : renderSqlFile('node-name-static', { literals: { member: member.name } });
  return body.trim();
}

/** PGO preloads pgnodemx only when pgMonitor's exporter is on (`monitoring`). */
export function usesPgnodemx(cfg: FederationConfig, member: MemberConfig): boolean {
  return member.kind === 'pgo' && cfg.monitoring;
}

/** `get_node_name()` as @pulumi/postgresql's Function declares it. */
export function nodeNameFunction(cfg: FederationConfig, member: MemberConfig) {
  return {
    name: 'get_node_name',
    schema: cfg.schema,
    database: cfg.database,
    returns: 'text',
    language: 'sql',
    volatility: 'IMMUTABLE',
    securityDefiner: true,
    body: nodeNameFunctionBody(cfg, member),
  } as const;
}
