/**
 * The plan applied without the Pulumi engine, for integration tests that must step in between
 * operations (stop a server mid-way, inspect a half-done state) and for the benchmark. It reads the
 * same records the program does (components/plan/) and calls the same dynamic providers with the
 * same inputs (components/plan/inputs.ts); what @pulumi/postgresql declares in the program
 * (Function, Extension, Publication, Role, Grant) it applies as SQL from the same records
 * (postgresqlResources.ts). Like the engine, it remembers what it created and, on a new config,
 * creates only what is new and deletes only what is gone, in dependency order.
 *
 * The wiring itself (dependencies, aliases, secrets, previews) is proven through the real engine in
 * tests/e2e/.
 */
import { randomBytes } from 'node:crypto';
import { adminConnection, readCaFile, replicationConninfo } from '../../components/endpoints';
import { type GrantInputs, type MemberPlan, plan } from '../../components/plan';
import { type Live, partitionInputs, subscriptionInputs, tableInputs } from '../../components/plan/inputs';
import { type PgConnection, withClient } from '../../components/providers/connection';
import { federatedTableProvider } from '../../components/providers/federatedTable';
import { server } from '../../components/providers/sql/server';
import { type PartitionInputs, partitionProvider } from '../../components/providers/partition';
import { type SubscriptionInputs, subscriptionProvider } from '../../components/providers/subscription';
import { type FederationConfig, parseFederationConfig } from '../../components/stackConfig';
import { postgresqlResources as sql } from './postgresqlResources';

/** The servers the driver reaches: each member's superuser password. */
export interface DriverServers {
  get(name: string): { connection: Pick<PgConnection, 'password'> };
}

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

export class PlanDriver {
  /** The partitions created, by resource name, with the inputs they were created with. */
  readonly partitions = new Map<string, PartitionInputs>();
  readonly subscriptions = new Map<string, SubscriptionInputs>();
  private readonly members = new Map<string, MemberPlan>();
  private readonly tables = new Set<string>();
  private readonly grants = new Map<string, { member: string; inputs: GrantInputs }>();
  /** Each member's replication role password, generated as the program's RandomPassword would. */
  readonly replicationPasswords = new Map<string, string>();

  constructor(
    private readonly servers: DriverServers,
    /** Told every password the driver generates (tests scan their output for them). */
    private readonly onSecret: (secret: string) => void = () => undefined,
  ) {}

  replicationPassword(member: string): string {
    let password = this.replicationPasswords.get(member);
    if (password === undefined) {
      password = randomBytes(24).toString('base64url');
      this.replicationPasswords.set(member, password);
      this.onSecret(password);
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

  /** Each member's PostgreSQL major, as its server says. */
  private async majors(cfg: FederationConfig): Promise<Map<string, number>> {
    const majors = await Promise.all(
      cfg.members.map(async (m) => {
        // A server that cannot be reached now is treated as older than 17 (no failover slot).
        const num = await withClient(m.name, this.connection(cfg, m.name), async (client) =>
          Number((await client.query<{ v: number }>(server.version)).rows[0]?.v ?? 0),
        ).catch(() => 0);
        return [m.name, Math.floor(num / 10000)] as const;
      }),
    );
    return new Map(majors);
  }

  private live(cfg: FederationConfig, majors: Map<string, number>): Live<PgConnection, string> {
    return {
      both17: (subscriber, publisher) =>
        (majors.get(subscriber) ?? 0) >= 17 && (majors.get(publisher) ?? 0) >= 17,
      connection: (name) => this.connection(cfg, name),
      conninfo: (name) => {
        const member = cfg.members.find((m) => m.name === name);
        if (member === undefined) throw new Error(`no member ${name}`);
        return replicationConninfo(member, cfg.database, cfg.replicationUser, this.replicationPassword(name));
      },
    };
  }

  private async run(cfg: FederationConfig, member: string, statements: string[]): Promise<void> {
    await withClient(member, this.connection(cfg, member), async (client) => {
      for (const statement of statements) await client.query(statement);
    });
  }

  /** Bring the servers to `cfg`, as `pulumi up` would. */
  async up(cfg: FederationConfig): Promise<void> {
    const p = plan(cfg);
    const live = this.live(cfg, await this.majors(cfg));
    const fresh = p.members.filter((m) => !this.members.has(m.member.name));
    const own = p.members.flatMap((m) => m.ownPartitions);
    const landings = p.members.flatMap((m) => m.landings);
    const createPartitions = (list: typeof own) =>
      Promise.all(
        list
          .filter((x) => !this.partitions.has(x.resourceName))
          .map(async (x) => {
            const inputs = partitionInputs(x, live);
            await partitionProvider.create(inputs);
            this.partitions.set(x.resourceName, inputs);
          }),
      );

    await Promise.all(
      fresh.map((m) =>
        this.run(cfg, m.member.name, [
          ...(m.extension !== undefined ? [sql.extension(m.extension.inputs)] : []),
          sql.function(m.nodeNameFunction.inputs),
        ]),
      ),
    );
    await Promise.all(
      p.members.flatMap((m) =>
        m.tables
          .filter((t) => !this.tables.has(t.resourceName))
          .map(async (t) => {
            await federatedTableProvider.create(tableInputs(t, live));
            this.tables.add(t.resourceName);
          }),
      ),
    );
    await createPartitions(own);
    for (const m of fresh) {
      await this.run(cfg, m.member.name, [
        sql.publication(m.publication.inputs),
        sql.role(m.replicationRole.inputs, this.replicationPassword(m.member.name)),
      ]);
      this.members.set(m.member.name, m);
    }
    for (const m of p.members) {
      for (const g of m.grants.filter((x) => !this.grants.has(x.resourceName))) {
        await this.run(cfg, m.member.name, [sql.grant(g.inputs)]);
        this.grants.set(g.resourceName, { member: m.member.name, inputs: g.inputs });
      }
    }
    await createPartitions(landings);
    // All at once, but after the subscriptions each one depends on, as the engine orders them.
    const made = new Map<string, Promise<void>>();
    for (const s of p.subscriptions.filter((x) => !this.subscriptions.has(x.resourceName))) {
      const before = s.dependsOn.flatMap((name) => made.get(name) ?? []);
      made.set(
        s.resourceName,
        Promise.all(before).then(async () => {
          const inputs = subscriptionInputs(s, live);
          await subscriptionProvider.create(inputs);
          this.subscriptions.set(s.resourceName, inputs);
        }),
      );
    }
    await Promise.all(made.values());

    // What is gone from the config, in reverse dependency order.
    const keepSubs = new Set(p.subscriptions.map((s) => s.resourceName));
    for (const [key, inputs] of this.subscriptions) {
      if (keepSubs.has(key)) continue;
      await subscriptionProvider.delete(`${inputs.subscriber}/${inputs.name}`, inputs);
      this.subscriptions.delete(key);
    }
    const keepParts = new Set([...own, ...landings].map((x) => x.resourceName));
    const gone = [...this.partitions].filter(([key]) => !keepParts.has(key));
    for (const [key, inputs] of gone.filter(([, i]) => i.owner !== i.member)) {
      await partitionProvider.delete(`${inputs.member}/${inputs.partition}`, inputs);
      this.partitions.delete(key);
    }
    const keepGrants = new Set(p.members.flatMap((m) => m.grants.map((g) => g.resourceName)));
    const wanted = new Set(p.members.map((m) => m.member.name));
    for (const [key, g] of this.grants) {
      if (keepGrants.has(key)) continue;
      if (wanted.has(g.member)) await this.run(cfg, g.member, [sql.revoke(g.inputs)]);
      this.grants.delete(key);
    }
    for (const [name, m] of [...this.members].filter(([n]) => !wanted.has(n))) {
      // Its last connection: the config no longer names it.
      await withClient(name, this.gonePeer(m), async (client) => {
        for (const statement of [
          sql.dropPublication(m.publication.inputs),
          ...sql.dropRole(m.replicationRole.inputs),
        ])
          await client.query(statement);
      });
      this.members.delete(name);
    }
    for (const [key, inputs] of gone.filter(([, i]) => i.owner === i.member)) {
      await partitionProvider.delete(`${inputs.member}/${inputs.partition}`, inputs);
      this.partitions.delete(key);
    }
  }

  /** A member the config no longer lists, reached as it was when it was created. */
  private gonePeer(m: MemberPlan): PgConnection {
    const ca =
      m.member.admin.sslrootcert !== undefined
        ? readCaFile(m.member.name, m.member.admin.sslrootcert)
        : undefined;
    return adminConnection(
      m.member,
      m.provider.inputs.database,
      this.servers.get(m.member.name).connection.password,
      ca,
    );
  }
}
