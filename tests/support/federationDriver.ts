/**
 * Drives our dynamic providers and `sql/` against embedded servers the way the Pulumi program's
 * resource graph does, with no Pulumi engine: per member the node-name function, the federated
 * table, its partitions, its publication; then the subscriptions. Like the engine, it remembers what
 * it created and, on a new config, creates only what is new and deletes only what is gone.
 */
import { randomBytes } from 'node:crypto';
import { escapeIdentifier, escapeLiteral } from 'pg';
import { type FederationConfig, parseFederationConfig } from '../../components/config';
import { adminConnection, replicationConninfo } from '../../components/endpoints';
import { meshPlan, nodeNameFunction, tableSql } from '../../components/mesh';
import { publicationName } from '../../components/naming';
import type { PgConnection } from '../../components/providers/connection';
import { type PartitionInputs, partitionProvider } from '../../components/providers/partition';
import { federatedTableProvider } from '../../components/providers/schema';
import { type SubscriptionInputs, subscriptionProvider } from '../../components/providers/subscription';
import { renderSqlFile } from '../../components/sql';
import { GENERATED_SECRETS, type ServerSet, type TestServer, query } from './embeddedServers';

/** The stack config a user would write for these servers (external members on loopback). */
export function configFor(servers: TestServer[], extra: Record<string, unknown> = {}): FederationConfig {
  return parseFederationConfig({
    members: servers.map((s) => ({
      name: s.name,
      kind: 'external',
      host: '127.0.0.1',
      port: s.port,
      sslmode: 'disable',
    })),
    ...extra,
  });
}

export class FederationDriver {
  readonly partitions = new Map<string, PartitionInputs>();
  readonly subscriptions = new Map<string, SubscriptionInputs>();
  private readonly members = new Set<string>();
  /** Each member's replication role password, generated as the program's RandomPassword would. */
  readonly replicationPasswords = new Map<string, string>();

  constructor(private readonly servers: ServerSet) {}

  replicationPassword(member: string): string {
    let password = this.replicationPasswords.get(member);
    if (password === undefined) {
      password = randomBytes(24).toString('base64url');
      this.replicationPasswords.set(member, password);
      GENERATED_SECRETS.add(password);
    }
    return password;
  }

  connection(cfg: FederationConfig, name: string): PgConnection {
    const member = cfg.members.find((m) => m.name === name);
    if (member === undefined) throw new Error(`no member ${name}`);
    return adminConnection(member, cfg.database, this.servers.get(name).connection.password);
  }

  subscriptionInputs(
    cfg: FederationConfig,
    plan: ReturnType<typeof meshPlan>['subscriptions'][number],
  ): SubscriptionInputs {
    const publisher = cfg.members.find((m) => m.name === plan.publisher);
    if (publisher === undefined) throw new Error(`no member ${plan.publisher}`);
    const password = this.replicationPassword(plan.publisher);
    return {
      subscriber: plan.subscriber,
      publisher: plan.publisher,
      connection: this.connection(cfg, plan.subscriber),
      publisherConnection: this.connection(cfg, plan.publisher),
      conninfo: replicationConninfo(publisher, cfg.database, cfg.replicationUser, password),
      name: plan.name,
      publication: plan.publication,
      slotName: plan.slotName,
      syncTimeoutSeconds: cfg.syncTimeoutSeconds,
    };
  }

  /** Bring the servers to `cfg`, as `pulumi up` would. */
  async up(cfg: FederationConfig): Promise<void> {
    const plan = meshPlan(cfg);
    const wanted = new Set(cfg.members.map((m) => m.name));
    const newMembers = cfg.members.filter((m) => !this.members.has(m.name));
    // Member resources: function, then table (its default calls the function).
    await Promise.all(
      newMembers.map(async (member) => {
        const server = this.servers.get(member.name);
        const fn = nodeNameFunction(cfg, member);
        await query(
          server,
          renderSqlFile('function', { identifiers: { schema: fn.schema }, literals: { body: fn.body } }),
        );
        const conn = this.connection(cfg, member.name);
        await federatedTableProvider.create({
          member: member.name,
          connection: conn,
          schema: cfg.schema,
          table: cfg.table,
          sql: tableSql(cfg, member.name),
        });
      }),
    );
    // Partitions (after the table), then publications (after the member's own partition).
    await Promise.all(
      plan.partitions
        .filter((p) => !this.partitions.has(p.resourceName))
        .map(async (p) => {
          const inputs: PartitionInputs = {
            member: p.member,
            owner: p.owner,
            connection: this.connection(cfg, p.member),
            schema: cfg.schema,
            table: cfg.table,
            partition: p.partition,
            createSql: p.createSql,
            guardSql: p.guardSql,
            onDelete: cfg.partitionDeletion,
          };
          await partitionProvider.create(inputs);
          this.partitions.set(p.resourceName, inputs);
        }),
    );
    await Promise.all(
      newMembers.map(async (member) => {
        const own = plan.partitions.find((p) => p.member === member.name && p.owner === member.name);
        const ownTable = `${escapeIdentifier(cfg.schema)}.${escapeIdentifier(own?.partition ?? '')}`;
        const server = this.servers.get(member.name);
        // As postgresql.Publication, postgresql.Role and postgresql.Grant declare them.
        await query(
          server,
          `CREATE PUBLICATION ${escapeIdentifier(publicationName(member.name))} FOR TABLE ${ownTable}`,
        );
        await query(
          server,
          `CREATE ROLE ${escapeIdentifier(cfg.replicationUser)} LOGIN REPLICATION ` +
            `PASSWORD ${escapeLiteral(this.replicationPassword(member.name))}`,
        );
        await query(server, `GRANT SELECT ON ${ownTable} TO ${escapeIdentifier(cfg.replicationUser)}`);
        this.members.add(member.name);
      }),
    );
    // Subscriptions: after the subscriber's partition and the publisher's publication.
    await Promise.all(
      plan.subscriptions
        .filter((s) => !this.subscriptions.has(s.resourceName))
        .map(async (s) => {
          const inputs = this.subscriptionInputs(cfg, s);
          await subscriptionProvider.create(inputs);
          this.subscriptions.set(s.resourceName, inputs);
        }),
    );
    // What is gone from the config: subscriptions first, then partitions (reverse dependency order).
    const keepSubs = new Set(plan.subscriptions.map((s) => s.resourceName));
    for (const [key, inputs] of this.subscriptions) {
      if (keepSubs.has(key)) continue;
      await subscriptionProvider.delete(`${inputs.subscriber}/${inputs.name}`, inputs);
      this.subscriptions.delete(key);
    }
    for (const member of [...this.members].filter((m) => !wanted.has(m))) {
      const server = this.servers.get(member);
      await query(server, `DROP PUBLICATION IF EXISTS ${escapeIdentifier(publicationName(member))}`);
      await query(server, `DROP OWNED BY ${escapeIdentifier(cfg.replicationUser)}`);
      await query(server, `DROP ROLE ${escapeIdentifier(cfg.replicationUser)}`);
      this.members.delete(member);
    }
    const keepParts = new Set(plan.partitions.map((p) => p.resourceName));
    for (const [key, inputs] of this.partitions) {
      if (keepParts.has(key)) continue;
      await partitionProvider.delete(`${inputs.member}/${inputs.partition}`, inputs);
      this.partitions.delete(key);
    }
  }
}
