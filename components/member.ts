/**
 * FederationNode: everything one member contributes to the federation.
 *
 * PGO members (in this order, each step depending on the one before):
 *   1. a generated postgres password and a stable SCRAM salt → the verifier (components/scram.ts);
 *   2. the `<name>-pguser-postgres` Secret patch carrying PGO's labels, the password and the verifier;
 *   3. the PostgresCluster, which Pulumi waits on until an instance is ready;
 *   4. a @pulumi/postgresql provider to its primary (TLS with the namespace CA);
 * External members instead start with a preflight check of the server (components/providers/preflight.ts).
 * Then for every member kind:
 *   5. pgnodemx (PGO with monitoring) and `get_node_name()`;
 *   6. the federated table (sql/table.sql);
 *   7. a partition for every member of the federation (the cross-product's rows on this server);
 *   8. the publication of its own partition.
 * Subscriptions join two members, so the Federation declares them.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as k8s from '@pulumi/kubernetes';
import * as postgresql from '@pulumi/postgresql';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import type { FederationConfig, MemberConfig } from './config';
import { adminConnection } from './endpoints';
import { nodeNameFunction, partitionPlan, tableSql, usesPgnodemx } from './mesh';
import { publicationName, userSecretName } from './naming';
import {
  PGO_LABEL_CLUSTER,
  PGO_LABEL_PGUSER,
  PGO_LABEL_ROLE,
  type PostgresClusterManifest,
  postgresClusterManifest,
} from './postgresCluster';
import type { PgConnection } from './providers/connection';
import { Partition } from './providers/partition';
import { ServerCheck } from './providers/preflight';
import { FederatedTable } from './providers/schema';
import { replicationSettings } from './replicationSettings';
import { SCRAM_SALT_BYTES, scramSha256Verifier } from './scram';

/** The namespace CA Secret PGO creates (key `root.crt`). */
export const PGO_ROOT_CA_SECRET = 'pgo-root-cacert';

export interface FederationNodeArgs {
  member: MemberConfig;
  config: FederationConfig;
  /** External members: the admin password from stack config (a secret). */
  adminPassword?: pulumi.Input<string>;
  /** PGO members: the Kubernetes provider of the cluster the member runs in. */
  k8sProvider?: k8s.Provider;
}

const base64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/**
 * The @pulumi/postgresql provider reads its CA from a file: the PEM is written under the OS temp
 * dir, at a path that depends only on the project, stack and member, so it never shows as a diff.
 */
function caFile(member: string, pem: string): string {
  const dir = path.join(tmpdir(), 'pg-federation', `${pulumi.getProject()}-${pulumi.getStack()}`);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${member}-root.crt`);
  writeFileSync(file, pem, { mode: 0o644 });
  return file;
}

/** The CA file a member's `sslrootcert` names, with an error that says which key to fix. */
function readCaFile(member: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(
      `member "${member}": sslrootcert ${file} cannot be read (${err instanceof Error ? err.message : String(err)}); ` +
        `point pg-federation:members[].sslrootcert at the PEM of the CA that signed its server certificate`,
    );
  }
}

export class FederationNode extends pulumi.ComponentResource {
  /** The member's configuration, as parsed. */
  public readonly member: MemberConfig;
  /** PGO members: the PostgresCluster. */
  public readonly cluster?: k8s.apiextensions.CustomResource;
  /** PGO members: the patch of PGO's `<name>-pguser-postgres` Secret. */
  public readonly secretPatch?: k8s.core.v1.SecretPatch;
  /** Pulumi's admin connection to the member (secret). */
  public readonly connection: pulumi.Output<PgConnection>;
  /** The role the other members' subscriptions log in as (REPLICATION, SELECT on the own partition). */
  public readonly replicationUser: string;
  /** Its generated password (secret). */
  public readonly replicationPassword: pulumi.Output<string>;
  public readonly replicationRole: postgresql.Role;
  public readonly replicationGrant: postgresql.Grant;
  public readonly provider: postgresql.Provider;
  public readonly extension?: postgresql.Extension;
  public readonly nodeNameFunction: postgresql.Function;
  public readonly table: FederatedTable;
  /** This server's partitions, by owning member. */
  public readonly partitions = new Map<string, Partition>();
  public readonly publication: postgresql.Publication;
  /** The publication's name (`pub_<member>`). */
  public readonly publicationName: string;

  constructor(name: string, args: FederationNodeArgs, opts?: pulumi.ComponentResourceOptions) {
    super('pg-federation:index:FederationNode', name, {}, opts);
    const { member, config } = args;
    this.member = member;
    const parent = { parent: this };

    let password: pulumi.Output<string>;
    let ca: pulumi.Output<string | undefined> = pulumi.output(
      member.admin.sslrootcert !== undefined ? readCaFile(member.name, member.admin.sslrootcert) : undefined,
    );
    // The provider reads its CA from a file; left unset when there is none.
    let caPath: pulumi.Input<string> | undefined = member.admin.sslrootcert;
    const ready: pulumi.Resource[] = [];
    const connect = (pw: pulumi.Output<string>): pulumi.Output<PgConnection> =>
      pulumi.secret(
        pulumi.all([pw, ca]).apply(([p, pem]) => adminConnection(member, config.database, p, pem)),
      );

    if (member.kind === 'pgo') {
      const k8sOpts = {
        ...parent,
        ...(args.k8sProvider !== undefined ? { provider: args.k8sProvider } : {}),
      };
      const generated = new random.RandomPassword(
        `${name}-postgres-password`,
        { length: 32, special: false },
        parent,
      );
      // A salt fixed in state: the verifier is a pure function of (password, salt), so a second
      // `pulumi up` computes the same verifier and shows no diff.
      const salt = new random.RandomBytes(`${name}-scram-salt`, { length: SCRAM_SALT_BYTES }, parent);
      password = generated.result;
      const verifier = pulumi.secret(
        pulumi.all([generated.result, salt.base64]).apply(([pw, s]) => scramSha256Verifier(pw, s)),
      );

      // The Secret patch comes BEFORE the cluster. PGO finds user Secrets by label only, keeps an
      // existing password + verifier and otherwise generates a random password; patching first
      // means the database is initialised with our verifier and there is never a window with a
      // password we do not know. PGO then re-applies the same values (server-side apply,
      // ForceOwnership, manager postgrescluster-controller): equal values are shared ownership, not
      // a conflict. A rotation changes them while PGO co-owns the fields, hence patchForce. Both
      // keys change together: PGO keeps an old verifier if only the password changes.
      this.secretPatch = new k8s.core.v1.SecretPatch(
        `${name}-pguser-postgres`,
        {
          metadata: {
            name: userSecretName(member.name, 'postgres'),
            namespace: member.namespace,
            labels: {
              [PGO_LABEL_CLUSTER]: member.name,
              [PGO_LABEL_PGUSER]: 'postgres',
              [PGO_LABEL_ROLE]: 'pguser',
            },
            annotations: { 'pulumi.com/patchForce': 'true' },
          },
          data: { password: generated.result.apply(base64), verifier: verifier.apply(base64) },
        },
        k8sOpts,
      );

      const manifest: PostgresClusterManifest = postgresClusterManifest({
        member,
        postgresVersion: config.postgresVersion,
        capacity: config.maxMembers,
        monitoring: config.monitoring,
      });
      this.cluster = new k8s.apiextensions.CustomResource(name, manifest, {
        ...k8sOpts,
        dependsOn: [this.secretPatch],
        retainOnDelete: config.retainClusters,
        customTimeouts: { create: '30m', update: '30m' },
      });
      ready.push(this.cluster, this.secretPatch);

      const verifies = member.admin.sslmode === 'verify-ca' || member.admin.sslmode === 'verify-full';
      if (verifies && member.admin.sslrootcert === undefined) {
        // Read the namespace CA only once the cluster is ready (its id is known then), so a preview
        // of a new stack does not look for a Secret PGO has not made yet.
        const caSecret = k8s.core.v1.Secret.get(
          `${name}-root-ca`,
          this.cluster.id.apply(() => `${member.namespace}/${PGO_ROOT_CA_SECRET}`),
          { ...k8sOpts, dependsOn: [this.cluster] },
        );
        ca = pulumi.secret(
          caSecret.data.apply((data) => {
            const pem = data['root.crt'];
            if (pem === undefined)
              throw new Error(`${member.namespace}/${PGO_ROOT_CA_SECRET} has no root.crt`);
            return Buffer.from(pem, 'base64').toString('utf8');
          }),
        );
        caPath = ca.apply((pem) => caFile(member.name, pem ?? ''));
      }
    } else {
      if (args.adminPassword === undefined)
        throw new Error(`external member "${member.name}" needs an admin password`);
      password = pulumi.secret(args.adminPassword);
      // A server we do not run is checked before anything is created on it.
      const preflight = new ServerCheck(
        `${name}-preflight`,
        {
          member: member.name,
          connection: connect(password),
          members: config.members.length,
          recommended: { ...replicationSettings(config.maxMembers) },
        },
        parent,
      );
      ready.push(preflight);
    }

    this.connection = connect(password);

    this.provider = new postgresql.Provider(
      name,
      {
        host: member.admin.host,
        port: member.admin.port,
        database: config.database,
        username: member.user,
        password: pulumi.secret(password),
        sslmode: member.admin.sslmode,
        ...(caPath !== undefined ? { sslrootcert: caPath } : {}),
        superuser: true,
        connectTimeout: 30,
      },
      { ...parent, dependsOn: ready },
    );
    const pgOpts = { ...parent, provider: this.provider };

    if (usesPgnodemx(config, member)) {
      this.extension = new postgresql.Extension(
        `${name}-pgnodemx`,
        { name: 'pgnodemx', database: config.database },
        pgOpts,
      );
    }
    this.nodeNameFunction = new postgresql.Function(
      `${name}-get-node-name`,
      nodeNameFunction(config, member),
      {
        ...pgOpts,
        dependsOn: this.extension !== undefined ? [this.extension] : [],
      },
    );

    // sql/table.sql checks get_node_name() against the member name, and the guards call it: the
    // function comes first.
    this.table = new FederatedTable(
      `${name}-table`,
      {
        member: member.name,
        connection: this.connection,
        schema: config.schema,
        table: config.table,
        sql: tableSql(config, member.name),
      },
      { ...parent, dependsOn: [this.nodeNameFunction] },
    );

    for (const owner of config.members) {
      const plan = partitionPlan(config, member.name, owner.name);
      this.partitions.set(
        owner.name,
        new Partition(
          plan.resourceName,
          {
            member: member.name,
            owner: owner.name,
            connection: this.connection,
            schema: config.schema,
            table: config.table,
            partition: plan.partition,
            createSql: plan.createSql,
            guardSql: plan.guardSql,
            onDelete: config.partitionDeletion,
          },
          { ...parent, dependsOn: [this.table] },
        ),
      );
    }

    const own = partitionPlan(config, member.name, member.name);
    this.publicationName = publicationName(member.name);
    this.publication = new postgresql.Publication(
      `${name}-publication`,
      {
        name: this.publicationName,
        database: config.database,
        tables: [`${config.schema}.${own.partition}`],
      },
      { ...pgOpts, dependsOn: [this.partitions.get(member.name) as Partition] },
    );

    // Subscriptions reach this member as a dedicated role, not the superuser: it may replicate and
    // read this member's own partition, nothing else. The superuser password stays with Pulumi.
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
    this.replicationGrant = new postgresql.Grant(
      `${name}-replication-grant`,
      {
        database: config.database,
        role: config.replicationUser,
        schema: config.schema,
        objectType: 'table',
        objects: [own.partition],
        privileges: ['SELECT'],
      },
      { ...pgOpts, dependsOn: [this.replicationRole, this.partitions.get(member.name) as Partition] },
    );

    this.registerOutputs({
      host: member.admin.host,
      replicationHost: member.replication.host,
      publication: this.publicationName,
      partitions: [...this.partitions.keys()],
    });
  }
}
