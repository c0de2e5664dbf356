/**
 * FederationNode: one member's server and Pulumi's way into it, from its plan, in one pass (each
 * after the one before):
 *   1. the server: provisioned by its kind (servers/pgo.ts, servers/external.ts);
 *   2. Pulumi's connection to it: a @pulumi/postgresql provider;
 *   3. `get_node_name()` (over pgnodemx on PGO with monitoring);
 *   4. the replication role the other members' subscriptions log in as.
 * What the federation keeps on the server (tables, partitions, publication, grants, subscriptions)
 * is declared by the Federation's later steps, as children of the node (memberData.ts, mesh.ts).
 */
import * as postgresql from '@pulumi/postgresql';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import { replicationConninfo } from './endpoints';
import type { MemberPlan, ResourceRecord } from './plan';
import type { ConnectionArgs, PgConnection } from './providers/connection';
import { type ProvisionedServer, provisionServer } from './servers';
import type { MemberConfig } from './stackConfig';

export interface FederationNodeArgs {
  plan: MemberPlan;
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
  /** The replication role's generated password (secret). */
  public readonly replicationPassword: pulumi.Output<string>;
  public readonly replicationRole: postgresql.Role;
  /** The conninfo another member's server uses to reach this one as the replication role (a secret). */
  public readonly replicationConninfo: pulumi.Output<string>;

  constructor(name: string, args: FederationNodeArgs, opts?: pulumi.ComponentResourceOptions) {
    super('pg-federation:index:FederationNode', name, {}, opts);
    const { plan } = args;
    this.member = plan.member;
    this.plan = plan;
    const parent = { parent: this };

    // 1. The server.
    this.server = provisionServer(name, plan.server, {
      parent: this,
      federation: args.federation,
      passwords: args.passwords,
      shared: args.shared,
    });
    this.connectionArgs = this.server.connection;
    this.connection = pulumi.secret(pulumi.output(this.connectionArgs) as pulumi.Output<PgConnection>);

    // 2. Pulumi's connection. A new server generation replaces it, so the old objects are deleted
    // through the old one, on the old server.
    this.provider = new postgresql.Provider(
      plan.provider.resourceName,
      {
        ...plan.provider.inputs,
        password: this.server.password,
        ...(this.server.caPath !== undefined ? { sslrootcert: this.server.caPath } : {}),
      },
      { ...parent, replacementTrigger: plan.provider.replacementTrigger, dependsOn: this.server.ready },
    );

    // 3. get_node_name().
    if (plan.extension !== undefined) {
      this.extension = new postgresql.Extension(
        plan.extension.resourceName,
        plan.extension.inputs,
        this.onServer(plan.extension),
      );
    }
    this.nodeNameFunction = new postgresql.Function(
      plan.nodeNameFunction.resourceName,
      plan.nodeNameFunction.inputs,
      {
        ...this.onServer(plan.nodeNameFunction),
        dependsOn: this.extension !== undefined ? [this.extension] : [],
      },
    );

    // 4. The replication role the other members' subscriptions log in as; its grants let it read
    // this member's own partitions, nothing else. The superuser password stays with Pulumi.
    const password = new random.RandomPassword(
      plan.replicationPassword.resourceName,
      { length: plan.replicationPassword.length, special: plan.replicationPassword.special },
      parent,
    );
    this.replicationPassword = pulumi.secret(password.result);
    this.replicationRole = new postgresql.Role(
      plan.replicationRole.resourceName,
      { ...plan.replicationRole.inputs, password: password.result },
      this.onServer(plan.replicationRole),
    );
    this.replicationConninfo = pulumi.secret(
      this.replicationPassword.apply((pw) =>
        replicationConninfo(this.member, plan.provider.inputs.database, plan.replicationRole.inputs.name, pw),
      ),
    );

    this.registerOutputs({
      host: this.member.admin.host,
      replicationHost: this.member.replication.host,
      publication: plan.publication.inputs.name,
      tables: plan.tables.map((t) => t.inputs.table),
    });
  }

  /** Options of a resource made through this member's @pulumi/postgresql provider. */
  onServer(record: ResourceRecord<unknown>): pulumi.CustomResourceOptions {
    return {
      parent: this,
      provider: this.provider,
      replacementTrigger: record.replacementTrigger,
      ...(record.aliases.length > 0 ? { aliases: record.aliases.map((alias) => ({ name: alias })) } : {}),
    };
  }
}
