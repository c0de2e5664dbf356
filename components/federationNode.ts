/**
 * FederationNode: what one member contributes to the federation, from its plan, as steps in order
 * (each after the one before):
 *   1. the server: provisioned by its kind (servers/pgo.ts, servers/external.ts);
 *   2. Pulumi's connection to it: a @pulumi/postgresql provider;
 *   3. `get_node_name()` (over pgnodemx on PGO with monitoring);
 *   4. the federated tables (and what they share: the guard function, the identity check);
 *   5. its own partition of every table;
 *   6. its publication of those partitions;
 *   7. the replication role the other members' subscriptions log in as, allowed to read exactly
 *      its own partitions.
 * Other members' partitions on this server (landings) and the subscriptions join two members, so
 * the Federation declares them.
 */
import * as postgresql from '@pulumi/postgresql';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import type { FederationConfig, MemberConfig } from './config';
import type { MemberPlan, PartitionPlan } from './plan';
import { replicationConninfo } from './endpoints';
import type { ConnectionArgs, PgConnection } from './providers/connection';
import { FederatedTable } from './providers/federatedTable';
import { Partition } from './providers/partition';
import { type ProvisionedServer, SERVER_KINDS } from './servers';

export interface FederationNodeArgs {
  plan: MemberPlan;
  config: FederationConfig;
  /** The Federation: parent of what members share. */
  federation: pulumi.ComponentResource;
  /** Admin passwords of external members, from stack config (a secret). */
  passwords: pulumi.Output<Record<string, string>>;
  /** What members of one kind share (a Kubernetes provider per context). */
  shared: Map<string, unknown>;
}

export class FederationNode extends pulumi.ComponentResource {
  /** The member's configuration, as parsed. */
  public readonly member: MemberConfig;
  public readonly plan: MemberPlan;
  /** What its kind provisioned: the connection, the password, the resources that must be ready. */
  public readonly server: ProvisionedServer;
  /** Pulumi's admin connection to the member, field by field (secret fields). */
  public readonly connectionArgs: ConnectionArgs;
  /** The same as one secret value (for the stack output `connections`). */
  public readonly connection: pulumi.Output<PgConnection>;
  public readonly provider: postgresql.Provider;
  public readonly extension?: postgresql.Extension;
  public readonly nodeNameFunction: postgresql.Function;
  /** Its federated tables, by table name. */
  public readonly tables = new Map<string, FederatedTable>();
  /** Its own partition of each table, by table name. */
  public readonly ownPartitions = new Map<string, Partition>();
  /** Declared by `declareData`, once every member's server is known. */
  public publication!: postgresql.Publication;
  /** The role the other members' subscriptions log in as (REPLICATION, SELECT on its own partitions). */
  public readonly replicationUser: string;
  /** Its generated password (secret). */
  public readonly replicationPassword: pulumi.Output<string>;
  public readonly replicationRole: postgresql.Role;
  /** SELECT on its own partition of each table, by table name. */
  public readonly grants = new Map<string, postgresql.Grant>();
  /** Options of the resources made through this member's @pulumi/postgresql provider. */
  private readonly pgOpts: pulumi.CustomResourceOptions;
  /**
   * What every resource on the member's server is replaced with: its server generation. A new one
   * (a move to a new server) replaces its provider (so the old objects are deleted through the old
   * one, on the old server) and everything on it; its own partitions are then restored from the peers.
   */
  private readonly onServer: pulumi.CustomResourceOptions;

  constructor(name: string, args: FederationNodeArgs, opts?: pulumi.ComponentResourceOptions) {
    super('pg-federation:index:FederationNode', name, {}, opts);
    const { config, plan } = args;
    this.member = plan.member;
    this.plan = plan;
    const parent = { parent: this };
    this.onServer = { replacementTrigger: plan.member.serverGeneration };

    // 1. The server.
    this.server = SERVER_KINDS[plan.member.kind].provision(name, {
      member: plan.member,
      config,
      parent: this,
      federation: args.federation,
      passwords: args.passwords,
      shared: args.shared,
      publication: plan.publication.name,
    });
    this.connectionArgs = this.server.connection;
    this.connection = pulumi.secret(pulumi.output(this.connectionArgs) as pulumi.Output<PgConnection>);

    // 2. Pulumi's connection.
    this.provider = new postgresql.Provider(
      name,
      {
        host: this.member.admin.host,
        port: this.member.admin.port,
        database: config.database,
        username: this.member.user,
        password: this.server.password,
        sslmode: this.member.admin.sslmode,
        ...(this.server.caPath !== undefined ? { sslrootcert: this.server.caPath } : {}),
        superuser: true,
        connectTimeout: 30,
      },
      { ...parent, ...this.onServer, dependsOn: this.server.ready },
    );
    const pgOpts: pulumi.CustomResourceOptions = { ...parent, ...this.onServer, provider: this.provider };

    // 3. get_node_name().
    if (this.member.nodeName === 'pgnodemx') {
      this.extension = new postgresql.Extension(
        `${name}-pgnodemx`,
        { name: 'pgnodemx', database: config.database },
        pgOpts,
      );
    }
    this.nodeNameFunction = new postgresql.Function(
      `${name}-get-node-name`,
      {
        name: 'get_node_name',
        schema: config.schema,
        database: config.database,
        returns: 'text',
        language: 'sql',
        volatility: 'IMMUTABLE',
        securityDefiner: true,
        body: plan.nodeNameBody,
      },
      { ...pgOpts, dependsOn: this.extension !== undefined ? [this.extension] : [] },
    );

    // 4. The replication role the other members' subscriptions log in as. Its grants (step 8) let
    // it read this member's own partitions, nothing else. The superuser password stays with Pulumi.
    const replicationPassword = new random.RandomPassword(
      `${name}-replication-password`,
      { length: 32, special: false },
      parent,
    );
    this.replicationUser = config.replicationUser;
    this.replicationPassword = pulumi.secret(replicationPassword.result);
    this.replicationRole = new postgresql.Role(
      `${name}-replication-role`,
      { name: config.replicationUser, login: true, replication: true, password: replicationPassword.result },
      pgOpts,
    );
    this.pgOpts = pgOpts;
  }

  /**
   * The steps that need every member's server (a member's own partition may be restored from its
   * peers' copies): its tables, its own partitions, its publication and its grants.
   */
  declareData(config: FederationConfig, peers: FederationNode[]): void {
    const { plan, pgOpts } = this;
    const parent = { parent: this };
    // 5. The federated tables: their SQL checks get_node_name() against the member name.
    for (const t of plan.tables) {
      this.tables.set(
        t.spec.name,
        new FederatedTable(
          t.resourceName,
          {
            member: this.member.name,
            connection: this.connectionArgs,
            schema: t.schema,
            table: t.spec.name,
            ...t.shape,
            sql: t.sql,
            allowDestructive: config.allowDestructiveChanges,
            publication: plan.publication.name,
            peers: peers.map((peer) => ({ member: peer.member.name, connection: peer.connectionArgs })),
            syncTimeoutSeconds: config.syncTimeoutSeconds,
          },
          {
            ...parent,
            ...this.onServer,
            dependsOn: [this.nodeNameFunction],
            aliases: t.aliases.map((alias) => ({ name: alias })),
          },
        ),
      );
    }

    // 6. Its own partitions: restored from the most advanced peer copy when the server lost them.
    for (const p of plan.partitions.filter((x) => x.owner === this.member.name)) {
      this.ownPartitions.set(p.table, this.partition(p, config, { parent: this }, undefined, peers));
    }

    // 7. The publication. A table added later joins it through its own partition's create.
    this.publication = new postgresql.Publication(
      plan.publication.resourceName,
      { name: plan.publication.name, database: config.database, tables: plan.publication.objects },
      { ...pgOpts, dependsOn: [...this.ownPartitions.values()], ignoreChanges: ['tables'] },
    );

    // 8. What the replication role may read.
    for (const g of plan.grants) {
      const own = this.ownPartitions.get(g.table);
      this.grants.set(
        g.table,
        new postgresql.Grant(
          g.resourceName,
          {
            database: config.database,
            role: config.replicationUser,
            schema: config.schema,
            objectType: 'table',
            objects: g.objects,
            privileges: ['SELECT'],
          },
          {
            ...pgOpts,
            dependsOn: [this.replicationRole, ...(own !== undefined ? [own] : [])],
            aliases: g.aliases.map((alias) => ({ name: alias })),
          },
        ),
      );
    }

    this.registerOutputs({
      host: this.member.admin.host,
      replicationHost: this.member.replication.host,
      publication: plan.publication.name,
      tables: plan.tables.map((t) => t.spec.name),
    });
  }

  /** The conninfo another member's server uses to reach this one as the replication role (a secret). */
  replicationConninfo(config: FederationConfig): pulumi.Output<string> {
    return pulumi.secret(
      this.replicationPassword.apply((pw) =>
        replicationConninfo(this.member, config.database, this.replicationUser, pw),
      ),
    );
  }

  /**
   * A partition on this member's server: a landing the Federation declares (with what it needs of the
   * owner), or its own (with the peers it may be restored from).
   */
  partition(
    p: PartitionPlan,
    config: FederationConfig,
    opts: pulumi.CustomResourceOptions,
    landing?: LandingArgs,
    peers: FederationNode[] = [],
  ): Partition {
    const table = this.tables.get(p.table);
    return new Partition(
      p.resourceName,
      {
        member: p.member,
        owner: p.owner,
        connection: this.connectionArgs,
        schema: p.schema,
        table: p.table,
        partition: p.partition,
        createSql: p.createSql,
        guardSql: p.guardSql,
        onDelete: config.partitionDeletion,
        publication: p.publication,
        subscription: p.subscription,
        replicationUser: config.replicationUser,
        syncTimeoutSeconds: config.syncTimeoutSeconds,
        ...(landing !== undefined ? { publisherConnection: landing.publisherConnection } : {}),
        ...(peers.length > 0
          ? {
              restoreFrom: peers.map((peer) => ({
                member: peer.member.name,
                connection: peer.connectionArgs,
                conninfo: peer.replicationConninfo(config),
              })),
            }
          : {}),
      },
      {
        ...opts,
        ...this.onServer,
        // Off the old server before it is made on the new one (the name is the same on both).
        deleteBeforeReplace: true,
        dependsOn: [...(table !== undefined ? [table] : []), ...(landing?.dependsOn ?? [])],
        aliases: p.aliases.map((alias) => ({ name: alias })),
      },
    );
  }
}

/** What a landing partition needs from its owner. */
export interface LandingArgs {
  publisherConnection: ConnectionArgs;
  /** The owner's partition of the table and its grant: what the copy reads. */
  dependsOn: pulumi.Resource[];
}
