/**
 * Drives the federation onto embedded servers without the Pulumi engine, for integration tests that
 * need to step in between operations (stop a server mid-way, inspect a half-done state). It iterates
 * the same plan the program does (components/plan.ts) and calls the same dynamic providers with the
 * same inputs; what @pulumi/postgresql declares in the program (Function, Publication, Role, Grant)
 * it applies as the SQL those resources run. Like the engine, it remembers what it created and, on a
 * new config, creates only what is new and deletes only what is gone, in dependency order.
 *
 * The wiring itself (dependencies, aliases, secrets, previews) is proven through the real engine in
 * tests/e2e/.
 */
import { randomBytes } from 'node:crypto';
import { escapeIdentifier, escapeLiteral } from 'pg';
import { type FederationConfig, parseFederationConfig } from '../../components/config';
import { adminConnection, readCaFile, replicationConninfo } from '../../components/endpoints';
import { type MemberPlan, type PartitionPlan, type SubscriptionPlan, plan } from '../../components/plan';
import type { PgConnection } from '../../components/providers/connection';
import { federatedTableProvider } from '../../components/providers/federatedTable';
import { type PartitionInputs, partitionProvider } from '../../components/providers/partition';
import { type SubscriptionInputs, subscriptionProvider } from '../../components/providers/subscription';
import { renderSqlFile } from '../../components/sql';
import { GENERATED_SECRETS, type ServerSet, query } from './embeddedServers';

/** The stack config a user would write for these servers (external members on loopback). */
export function configFor(
  servers: Array<{ name: string; port: number }>,
  extra: Record<string, unknown> = {},
  member: Record<string, unknown> = {},
): FederationConfig {
  return parseFederationConfig({
    members: servers.map((s) => ({
      name: s.name,
      kind: 'external',
      host: '127.0.0.1',
      port: s.port,
      sslmode: 'disable',
      ...member,
    })),
    ...extra,
  });
}

export class FederationDriver {
  readonly partitions = new Map<string, PartitionInputs>();
  readonly subscriptions = new Map<string, SubscriptionInputs>();
  private readonly members = new Map<string, MemberPlan>();
  private readonly tables = new Set<string>();
  private readonly grants = new Map<string, { member: string; objects: string[] }>();
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
    const ca =
      member.admin.sslrootcert !== undefined ? readCaFile(name, member.admin.sslrootcert) : undefined;
    return adminConnection(member, cfg.database, this.servers.get(name).connection.password, ca);
  }

  partitionInputs(cfg: FederationConfig, p: PartitionPlan): PartitionInputs {
    return {
      member: p.member,
      owner: p.owner,
      connection: this.connection(cfg, p.member),
      schema: p.schema,
      table: p.table,
      partition: p.partition,
      createSql: p.createSql,
      guardSql: p.guardSql,
      onDelete: cfg.partitionDeletion,
      publication: p.publication,
      subscription: p.subscription,
      ...(p.owner !== p.member
        ? {
            publisherConnection: this.connection(cfg, p.owner),
            replicationUser: cfg.replicationUser,
            syncTimeoutSeconds: cfg.syncTimeoutSeconds,
          }
        : {}),
    };
  }

  subscriptionInputs(cfg: FederationConfig, s: SubscriptionPlan): SubscriptionInputs {
    const publisher = cfg.members.find((m) => m.name === s.publisher);
    if (publisher === undefined) throw new Error(`no member ${s.publisher}`);
    return {
      subscriber: s.subscriber,
      publisher: s.publisher,
      connection: this.connection(cfg, s.subscriber),
      publisherConnection: this.connection(cfg, s.publisher),
      conninfo: replicationConninfo(
        publisher,
        cfg.database,
        cfg.replicationUser,
        this.replicationPassword(s.publisher),
      ),
      name: s.name,
      publication: s.publication,
      slotName: s.slotName,
      syncTimeoutSeconds: cfg.syncTimeoutSeconds,
      landings: s.landings,
    };
  }

  /** Bring the servers to `cfg`, as `pulumi up` would. */
  async up(cfg: FederationConfig): Promise<void> {
    const p = plan(cfg);
    const fresh = p.members.filter((m) => !this.members.has(m.member.name));
    const all = p.members.flatMap((m) => m.partitions);
    const createPartitions = (list: PartitionPlan[]) =>
      Promise.all(
        list
          .filter((x) => !this.partitions.has(x.resourceName))
          .map(async (x) => {
            const inputs = this.partitionInputs(cfg, x);
            await partitionProvider.create(inputs);
            this.partitions.set(x.resourceName, inputs);
          }),
      );

    // As postgresql.Function declares it; then the tables (their SQL calls the function).
    await Promise.all(
      fresh.map((m) =>
        query(
          this.servers.get(m.member.name),
          renderSqlFile('function', {
            identifiers: { schema: cfg.schema },
            literals: { body: m.nodeNameBody },
          }),
        ),
      ),
    );
    await Promise.all(
      p.members.flatMap((m) =>
        m.tables
          .filter((t) => !this.tables.has(t.resourceName))
          .map(async (t) => {
            await federatedTableProvider.create({
              member: m.member.name,
              connection: this.connection(cfg, m.member.name),
              schema: t.schema,
              table: t.spec.name,
              ...t.shape,
              sql: t.sql,
              publication: m.publication.name,
              syncTimeoutSeconds: cfg.syncTimeoutSeconds,
            });
            this.tables.add(t.resourceName);
          }),
      ),
    );
    await createPartitions(all.filter((x) => x.owner === x.member));
    // As postgresql.Publication, postgresql.Role and postgresql.Grant declare them.
    for (const m of fresh) {
      const server = this.servers.get(m.member.name);
      const objects = m.publication.objects.map((o) =>
        o
          .split('.')
          .map((part) => escapeIdentifier(part))
          .join('.'),
      );
      await query(
        server,
        `CREATE PUBLICATION ${escapeIdentifier(m.publication.name)} FOR TABLE ${objects.join(', ')}`,
      );
      await query(
        server,
        `CREATE ROLE ${escapeIdentifier(cfg.replicationUser)} LOGIN REPLICATION ` +
          `PASSWORD ${escapeLiteral(this.replicationPassword(m.member.name))}`,
      );
      this.members.set(m.member.name, m);
    }
    for (const m of p.members) {
      for (const g of m.grants.filter((x) => !this.grants.has(x.resourceName))) {
        const objects = g.objects
          .map((o) => `${escapeIdentifier(cfg.schema)}.${escapeIdentifier(o)}`)
          .join(', ');
        await query(
          this.servers.get(m.member.name),
          `GRANT SELECT ON ${objects} TO ${escapeIdentifier(cfg.replicationUser)}`,
        );
        this.grants.set(g.resourceName, { member: m.member.name, objects: g.objects });
      }
    }
    await createPartitions(all.filter((x) => x.owner !== x.member));
    await Promise.all(
      p.subscriptions
        .filter((s) => !this.subscriptions.has(s.resourceName))
        .map(async (s) => {
          const inputs = this.subscriptionInputs(cfg, s);
          await subscriptionProvider.create(inputs);
          this.subscriptions.set(s.resourceName, inputs);
        }),
    );

    // What is gone from the config, in reverse dependency order.
    const keepSubs = new Set(p.subscriptions.map((s) => s.resourceName));
    for (const [key, inputs] of this.subscriptions) {
      if (keepSubs.has(key)) continue;
      await subscriptionProvider.delete(`${inputs.subscriber}/${inputs.name}`, inputs);
      this.subscriptions.delete(key);
    }
    const keepParts = new Set(all.map((x) => x.resourceName));
    const gone = [...this.partitions].filter(([key]) => !keepParts.has(key));
    for (const [key, inputs] of gone.filter(([, i]) => i.owner !== i.member)) {
      await partitionProvider.delete(`${inputs.member}/${inputs.partition}`, inputs);
      this.partitions.delete(key);
    }
    const keepGrants = new Set(p.members.flatMap((m) => m.grants.map((g) => g.resourceName)));
    const wanted = new Set(p.members.map((m) => m.member.name));
    for (const [key, g] of this.grants) {
      if (keepGrants.has(key)) continue;
      if (wanted.has(g.member)) {
        const objects = g.objects
          .map((o) => `${escapeIdentifier(cfg.schema)}.${escapeIdentifier(o)}`)
          .join(', ');
        await query(
          this.servers.get(g.member),
          `REVOKE SELECT ON ${objects} FROM ${escapeIdentifier(cfg.replicationUser)}`,
        );
      }
      this.grants.delete(key);
    }
    for (const [name, m] of [...this.members].filter(([n]) => !wanted.has(n))) {
      const server = this.servers.get(name);
      await query(server, `DROP PUBLICATION IF EXISTS ${escapeIdentifier(m.publication.name)}`);
      await query(server, `DROP OWNED BY ${escapeIdentifier(cfg.replicationUser)}`);
      await query(server, `DROP ROLE ${escapeIdentifier(cfg.replicationUser)}`);
      this.members.delete(name);
    }
    for (const [key, inputs] of gone.filter(([, i]) => i.owner === i.member)) {
      await partitionProvider.delete(`${inputs.member}/${inputs.partition}`, inputs);
      this.partitions.delete(key);
    }
  }
}
