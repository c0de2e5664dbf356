/**
 * The federation, decided once (as pulumi-awsx's `getSubnetSpecs`): a pure function from config to
 * every resource's record (plan/records.ts) — each member's server (by its kind), Pulumi's
 * connection, `get_node_name()`, its replication role, its tables, its own partitions, its
 * publication and grants, the landings of the others' rows and its subscriptions — with every name,
 * every piece of SQL, every dependency and what replaces each. The components, the engine-less
 * driver, the local job, status and bench all read it; none derives a name or wiring on its own.
 *
 * Stacks made before `tables` existed had one table and names without it (`<member>-table`,
 * `<member>-partition-<owner>`, `<member>-replication-grant`); the table named by the `table` key
 * keeps those as aliases, so such a stack sees no change.
 */
import {
  legacyResourceNames,
  partitionName,
  publicationName,
  resourceNames,
  slotName,
  subscriptionName,
} from '../naming';
import { columnsSql, primaryKeySql } from '../providers/sql/tables';
import { planServer } from '../servers';
import { renderSqlFile } from '../sql';
import type { FederationConfig, MemberConfig } from '../stackConfig';
import type { TableSpec } from '../config/tables';
import type {
  FederationPlan,
  MemberPlan,
  PartitionRecord,
  ResourceRecord,
  SubscriptionRecord,
  TableRecord,
} from './records';

export type * from './records';

/** The body of `get_node_name()`: pgnodemx's Kubernetes labels where PGO provides them, the name elsewhere. */
function nodeNameBody(member: MemberConfig): string {
  return (
    member.nodeName === 'pgnodemx'
      ? renderSqlFile('node-name-pgnodemx', {})
      : renderSqlFile('node-name-static', { literals: { member: member.name } })
  ).trim();
}

/** sql/federation.sql and sql/table.sql rendered for a member: idempotent DDL. */
function tableSql(cfg: FederationConfig, spec: TableSpec, member: string): string {
  const shared = renderSqlFile('federation', { identifiers: { schema: cfg.schema }, literals: { member } });
  const table = renderSqlFile('table', {
    identifiers: {
      schema: cfg.schema,
      table: spec.name,
      default_partition: spec.defaultPartition,
      owner_column: spec.ownerColumn,
    },
    literals: { member },
    fragments: { columns: columnsSql({ ...spec, member }), primary_key: primaryKeySql(spec.primaryKey) },
  });
  return `${shared}\n${table}`;
}

function tableRecord(
  cfg: FederationConfig,
  spec: TableSpec,
  member: MemberConfig,
  peers: string[],
): TableRecord {
  return {
    resourceName: resourceNames.table(member.name, spec.name),
    aliases: spec.name === cfg.legacyTable ? [legacyResourceNames.table(member.name)] : [],
    dependsOn: [resourceNames.nodeNameFunction(member.name)],
    replacementTrigger: member.serverGeneration,
    inputs: {
      member: member.name,
      schema: cfg.schema,
      table: spec.name,
      columns: spec.columns,
      primaryKey: spec.primaryKey,
      ownerColumn: spec.ownerColumn,
      defaultPartition: spec.defaultPartition,
      indexes: spec.indexes,
      checks: spec.checks,
      sql: tableSql(cfg, spec, member.name),
      allowDestructive: cfg.allowDestructiveChanges,
      publication: publicationName(member.name),
      syncTimeoutSeconds: cfg.syncTimeoutSeconds,
    },
    peers,
  };
}

/** `member`'s partition of `owner`'s rows of a table: its own, or a landing. */
function partitionRecord(
  cfg: FederationConfig,
  spec: TableSpec,
  member: MemberConfig,
  owner: string,
  peers: string[],
): PartitionRecord {
  const partition = partitionName(spec.partitionTemplate, owner);
  const own = owner === member.name;
  return {
    resourceName: resourceNames.partition(member.name, spec.name, owner),
    aliases: spec.name === cfg.legacyTable ? [legacyResourceNames.partition(member.name, owner)] : [],
    // A landing comes after the owner's own partition and the grant that lets the replication role
    // read it: a landing added to a running subscription is copied at once.
    dependsOn: [
      resourceNames.table(member.name, spec.name),
      ...(own
        ? []
        : [resourceNames.partition(owner, spec.name, owner), resourceNames.grant(owner, spec.name)]),
    ],
    replacementTrigger: member.serverGeneration,
    inputs: {
      member: member.name,
      owner,
      schema: cfg.schema,
      table: spec.name,
      partition,
      createSql: renderSqlFile('partition', {
        identifiers: { schema: cfg.schema, table: spec.name, partition },
        literals: { member: owner },
        fragments: { primary_key: primaryKeySql(spec.primaryKey) },
      }),
      guardSql: own
        ? ''
        : renderSqlFile('guard', { identifiers: { schema: cfg.schema, partition }, literals: { owner } }),
      onDelete: cfg.partitionDeletion,
      publication: own ? publicationName(member.name) : '',
      subscription: own ? '' : subscriptionName(member.name, owner),
      replicationUser: cfg.replicationUser,
      syncTimeoutSeconds: cfg.syncTimeoutSeconds,
    },
    ...(own ? {} : { publisher: owner }),
    restoreFrom: own ? peers : [],
  };
}

/**
 * Whether a subscription may use PostgreSQL 17's failover slots: where both ends run 17+, the
 * publisher's standby keeps the slot in step and takes over with it. A PGO publisher keeps the
 * slots of subscribers whose major is not in config (external members) as Patroni permanent slots
 * instead, which work on every major; so its failover slots are only its PGO subscribers' on 17+.
 */
export function failoverEligible(subscriber: MemberConfig, publisher: MemberConfig): boolean {
  if (publisher.kind === 'pgo') {
    return subscriber.kind === 'pgo' && subscriber.postgresVersion >= 17 && publisher.postgresVersion >= 17;
  }
  return true; // decided where it runs, by both servers' majors
}

/**
 * Whether `a` comes before `b` in the members' list. A member's subscription to one listed before it
 * waits for that member's subscription to it. That subscription makes logical slots on this member's
 * server (its own, and its table sync's), and PostgreSQL makes a logical slot only once every
 * transaction open on that server when it began has ended, which it learns from the next snapshot
 * of running transactions in the WAL (written every 15 s: LOG_SNAPSHOT_INTERVAL_MS in bgwriter.c;
 * snapbuild.c). For a member that joins last, its own subscriptions' initial copies are such
 * transactions, one per peer and as long as the peer's rows take to copy: its peers' subscriptions
 * to it waited for the longest of them and up to 15 s more (1.9 and 2.4 s in two runs of the
 * 1M-row bench). In this order its peers subscribe to it (a copy of its partition, empty when it
 * joins) before its copies begin.
 */
function listedBefore(cfg: FederationConfig, a: MemberConfig, b: MemberConfig): boolean {
  return cfg.members.indexOf(a) < cfg.members.indexOf(b);
}

function subscriptionRecord(
  cfg: FederationConfig,
  subscriber: MemberConfig,
  publisher: MemberConfig,
): SubscriptionRecord {
  return {
    failoverWhen17: failoverEligible(subscriber, publisher),
    resourceName: resourceNames.subscription(subscriber.name, publisher.name),
    aliases: [],
    // After the subscriber's landings for the publisher and the publisher's publication and grants
    // (PostgreSQL 14 would accept a missing publication and fail later in a loop).
    dependsOn: [
      ...cfg.tables.map((t) => resourceNames.partition(subscriber.name, t.name, publisher.name)),
      resourceNames.publication(publisher.name),
      ...cfg.tables.map((t) => resourceNames.grant(publisher.name, t.name)),
      ...(listedBefore(cfg, publisher, subscriber)
        ? [resourceNames.subscription(publisher.name, subscriber.name)]
        : []),
    ],
    // Either end on a new server: a new subscription (its slot name is taken until the old one goes).
    replacementTrigger: `${subscriber.serverGeneration}:${publisher.serverGeneration}`,
    inputs: {
      subscriber: subscriber.name,
      publisher: publisher.name,
      name: subscriptionName(subscriber.name, publisher.name),
      publication: publicationName(publisher.name),
      slotName: slotName(subscriber.name, publisher.name),
      syncTimeoutSeconds: cfg.syncTimeoutSeconds,
      synchronousCommit: cfg.applySynchronousCommit,
      landings: cfg.tables.map((t) => ({
        schema: cfg.schema,
        table: t.name,
        partition: partitionName(t.partitionTemplate, publisher.name),
      })),
    },
  };
}

function planMember(cfg: FederationConfig, member: MemberConfig): MemberPlan {
  const name = member.name;
  const onServer = member.serverGeneration;
  const record = <I>(resourceName: string, inputs: I, dependsOn: string[] = []): ResourceRecord<I> => ({
    resourceName,
    inputs,
    dependsOn,
    aliases: [],
    replacementTrigger: onServer,
  });
  const peers = cfg.members.filter((m) => m.name !== name);
  const peerNames = peers.map((m) => m.name);
  const partitions = cfg.tables.flatMap((spec) =>
    cfg.members.map((owner) => partitionRecord(cfg, spec, member, owner.name, peerNames)),
  );
  const own = partitions.filter((p) => p.inputs.owner === name);
  const extension =
    member.nodeName === 'pgnodemx'
      ? record(resourceNames.pgnodemx(name), { name: 'pgnodemx', database: cfg.database })
      : undefined;
  const publication = publicationName(name);
  return {
    member,
    server: planServer(member, {
      database: cfg.database,
      members: cfg.members.length,
      maxMembers: cfg.maxMembers,
      monitoring: cfg.monitoring,
      prometheusRule: cfg.prometheusRule,
      tables: cfg.tables.map((t) => ({ schema: cfg.schema, name: t.name })),
      retainClusters: cfg.retainClusters,
      publication,
      permanentSlots: peers
        .filter((subscriber) => !failoverEligible(subscriber, member))
        .map((subscriber) => slotName(subscriber.name, name)),
      idleReplicationSlotTimeout: cfg.idleReplicationSlotTimeout,
    }),
    provider: record(name, {
      host: member.admin.host,
      port: member.admin.port,
      database: cfg.database,
      username: member.user,
      sslmode: member.admin.sslmode,
      superuser: true,
      connectTimeout: 30,
    }),
    ...(extension !== undefined ? { extension } : {}),
    nodeNameFunction: record(
      resourceNames.nodeNameFunction(name),
      {
        name: 'get_node_name',
        schema: cfg.schema,
        database: cfg.database,
        returns: 'text',
        language: 'sql',
        volatility: 'IMMUTABLE',
        securityDefiner: true,
        body: nodeNameBody(member),
      },
      extension !== undefined ? [extension.resourceName] : [],
    ),
    replicationPassword: {
      resourceName: resourceNames.replicationPassword(name),
      length: 32,
      special: false,
    },
    replicationRole: record(resourceNames.replicationRole(name), {
      name: cfg.replicationUser,
      login: true,
      replication: true,
    }),
    tables: cfg.tables.map((spec) => tableRecord(cfg, spec, member, peerNames)),
    ownPartitions: own,
    // A table added later joins it through its own partition's create.
    publication: {
      ...record(
        resourceNames.publication(name),
        {
          name: publication,
          database: cfg.database,
          tables: own.map((p) => `${p.inputs.schema}.${p.inputs.partition}`),
        },
        own.map((p) => p.resourceName),
      ),
      ignoreChanges: ['tables'],
    },
    grants: own.map((p) => ({
      resourceName: resourceNames.grant(name, p.inputs.table),
      aliases: p.inputs.table === cfg.legacyTable ? [legacyResourceNames.grant(name)] : [],
      dependsOn: [resourceNames.replicationRole(name), p.resourceName],
      replacementTrigger: onServer,
      table: p.inputs.table,
      inputs: {
        database: cfg.database,
        role: cfg.replicationUser,
        schema: cfg.schema,
        objectType: 'table',
        objects: [p.inputs.partition],
        privileges: ['SELECT'],
      },
    })),
    landings: partitions.filter((p) => p.inputs.owner !== name),
    subscriptions: peers.map((publisher) => subscriptionRecord(cfg, member, publisher)),
  };
}

/** The whole federation. */
export function plan(cfg: FederationConfig): FederationPlan {
  const members = cfg.members.map((member) => planMember(cfg, member));
  return { members, subscriptions: members.flatMap((m) => m.subscriptions) };
}

/** The plan of one member. */
export function memberPlan(p: FederationPlan, member: string): MemberPlan {
  const found = p.members.find((m) => m.member.name === member);
  if (found === undefined) throw new Error(`no member named ${member} in the plan`);
  return found;
}
