/**
 * A PGO member: a Crunchy PGO v5 `PostgresCluster` this program declares. The kind owns its member
 * keys (namespace, kubeContext, postgresVersion, images, storage, passwordRotation), its defaults
 * (the primary service, `verify-full` with the namespace CA, the images PGO v5.8.9 ships per major),
 * the names PGO gives a cluster's objects, and its server's resources, in this order:
 *   1. a generated postgres password and a stable SCRAM salt → the verifier (components/scram.ts);
 *   2. the `<name>-pguser-postgres` Secret patch with PGO's labels, the password and the verifier;
 *   3. with monitoring, the ConfigMap of the federation's queries for PGO's exporter
 *      (components/monitoring/queries.ts, the queries of the member's major);
 *   4. the PostgresCluster (servers/pgoCluster.ts), which Pulumi waits on until an instance is ready;
 *   5. the namespace CA (`pgo-root-cacert`), read once the cluster is ready, for `verify-full`.
 * Members of one kubeconfig context share one Kubernetes provider, and with `prometheusRule` the
 * members of one namespace there share one PrometheusRule of the alert rules.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import { z } from 'zod';
import { namespaceSchema, postgresVersionSchema, quantitySchema } from '../config/schema';
import { quantityBytes, walBudgetMB } from '../config/sizes';
import type { MemberBase } from '../config/types';
import { adminConnectionArgs, readCaFile } from '../endpoints';
import { SCRAM_SALT_BYTES, scramSha256Verifier } from '../scram';
import type { ServerKind } from './kind';
import {
  DEFAULT_IMAGES,
  IMAGES_BY_VERSION,
  PGO_CA_PATH,
  PGO_OBJECT_SUFFIXES,
  PGO_ROOT_CA_SECRET,
  federationQueriesConfigMap,
  primaryServiceHost,
  userSecretName,
} from './pgoNames';
import {
  PGO_LABEL_CLUSTER,
  PGO_LABEL_PGUSER,
  PGO_LABEL_ROLE,
  type PostgresClusterManifest,
  postgresClusterManifest,
} from './pgoCluster';
import {
  type PrometheusRuleRecord,
  type QueriesRecord,
  declareQueries,
  prometheusRuleFor,
  prometheusRuleRecord,
  queriesRecord,
} from './pgoMonitoring';

/** A PGO member's own keys (each defaults to the stack's key of the same name). */
export const pgoFields = z.object({
  /** The namespace of the cluster (defaults to the stack's `namespace`). */
  namespace: namespaceSchema.optional(),
  /** The kubeconfig context of the Kubernetes cluster it runs in (default: the current one). */
  kubeContext: z.string().min(1).optional(),
  postgresImage: z.string().min(1).optional(),
  exporterImage: z.string().min(1).optional(),
  pgbackrestImage: z.string().min(1).optional(),
  dataStorage: quantitySchema.optional(),
  backupStorage: quantitySchema.optional(),
  /** Change it (any new value) to rotate the member's postgres password. */
  passwordRotation: z.union([z.string().min(1), z.number()]).optional(),
  /** The PostgreSQL major of this member (default: the stack's `postgresVersion`). */
  postgresVersion: postgresVersionSchema.optional(),
  /** The instances of its PostgresCluster (default: the stack's `replicas`): a standby takes over on failover. */
  replicas: z.number().int().min(1).max(10).optional(),
});

export interface PgoMember extends MemberBase {
  kind: 'pgo';
  /** Kubernetes namespace of its PostgresCluster. */
  namespace: string;
  /** kubeconfig context; undefined: the ambient one. */
  kubeContext?: string;
  storage: { data: string; backup: string };
  images: { postgres: string; exporter: string; pgbackrest: string };
  /** A new value rotates the postgres password. */
  passwordRotation?: string;
  /** The PostgreSQL major of its PostgresCluster. */
  postgresVersion: number;
  /** Instances of its PostgresCluster (a primary and its standbys). */
  replicas: number;
}

/**
 * The WAL budget of a PGO member unless config says otherwise: a quarter of its data volume (which
 * holds pg_wal too), so one subscriber away cannot fill it (1Gi: 256MB).
 */
export function pgoWalBudgetMB(dataStorage: string): number {
  return Math.max(64, Math.floor(quantityBytes(dataStorage) / 4 / 2 ** 20));
}

/** The inputs of a PGO member's server resources (live values, the password and CA, come later). */
export interface PgoServerPlan {
  kind: 'pgo';
  member: PgoMember;
  database: string;
  password: { resourceName: string; args: random.RandomPasswordArgs & { keepers?: Record<string, string> } };
  salt: { resourceName: string; length: number };
  secretPatch: {
    resourceName: string;
    metadata: {
      name: string;
      namespace: string;
      labels: Record<string, string>;
      annotations: Record<string, string>;
    };
  };
  /** With monitoring: the federation's queries for the exporter, a ConfigMap the cluster projects. */
  queries?: QueriesRecord;
  cluster: {
    resourceName: string;
    manifest: PostgresClusterManifest;
    retainOnDelete: boolean;
    customTimeouts: { create: string; update: string };
  };
  /**
   * With monitoring and `prometheusRule`: the alert rules in the member's namespace, the same record
   * for every member there (declared once, by the first).
   */
  prometheusRule?: PrometheusRuleRecord;
  /** The namespace CA, read once the cluster is ready, when the admin connection verifies it. */
  rootCa?: { resourceName: string; id: string };
}

/**
 * The @pulumi/postgresql provider reads its CA from a file: the PEM is written under
 * `$PG_FEDERATION_CA_DIR` (default: the OS temp dir), at a path that depends only on the project,
 * stack and member, so it never shows as a diff.
 */
export function caFile(member: string, pem: string): string {
  const root = process.env.PG_FEDERATION_CA_DIR ?? path.join(tmpdir(), 'pg-federation');
  const dir = path.join(root, `${pulumi.getProject()}-${pulumi.getStack()}`);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${member}-root.crt`);
  writeFileSync(file, pem, { mode: 0o644 });
  return file;
}

const base64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** One Kubernetes provider per kubeconfig context, shared by the members in it. */
function k8sProviderFor(
  context: string | undefined,
  shared: Map<string, unknown>,
  federation: pulumi.ComponentResource,
): k8s.Provider | undefined {
  if (context === undefined) return undefined;
  const key = `k8s:${context}`;
  let provider = shared.get(key) as k8s.Provider | undefined;
  if (provider === undefined) {
    provider = new k8s.Provider(`k8s-${context}`, { context }, { parent: federation });
    shared.set(key, provider);
  }
  return provider;
}

export const pgoKind: ServerKind<PgoMember, PgoServerPlan> = {
  fields: pgoFields,

  validate() {
    return [];
  },

  resolve(m, stack) {
    const own = pgoFields.parse(m);
    const namespace = own.namespace ?? stack.namespace;
    const inCluster = primaryServiceHost(m.name, namespace);
    const postgresVersion = own.postgresVersion ?? stack.postgresVersion;
    const images = IMAGES_BY_VERSION[postgresVersion] ?? DEFAULT_IMAGES;
    const storage = {
      data: own.dataStorage ?? stack.dataStorage,
      backup: own.backupStorage ?? stack.backupStorage,
    };
    return {
      name: m.name,
      kind: 'pgo',
      namespace,
      ...(own.kubeContext !== undefined ? { kubeContext: own.kubeContext } : {}),
      user: m.user ?? 'postgres',
      admin: {
        host: m.host ?? inCluster,
        port: m.port ?? 5432,
        sslmode: m.sslmode ?? 'verify-full',
        ...(m.sslrootcert !== undefined ? { sslrootcert: m.sslrootcert } : {}),
      },
      replication: {
        host: m.replicationHost ?? inCluster,
        port: m.replicationPort ?? 5432,
        sslmode: m.replicationSslmode ?? 'verify-full',
        sslrootcert: m.replicationSslrootcert ?? PGO_CA_PATH,
      },
      storage: {
        data: own.dataStorage ?? stack.dataStorage,
        backup: own.backupStorage ?? stack.backupStorage,
      },
      postgresVersion,
      images: {
        postgres: own.postgresImage ?? stack.postgresImage ?? images.postgres,
        exporter: own.exporterImage ?? stack.exporterImage ?? images.exporter,
        pgbackrest: own.pgbackrestImage ?? stack.pgbackrestImage ?? images.pgbackrest,
      },
      // PGO preloads pgnodemx only when pgMonitor's exporter is on.
      nodeName: stack.monitoring ? 'pgnodemx' : 'static',
      ...(own.passwordRotation !== undefined ? { passwordRotation: String(own.passwordRotation) } : {}),
      // A PGO member keeps its PostgresCluster: it upgrades in place (PGUpgrade), it does not move.
      serverGeneration: 1,
      replicas: own.replicas ?? stack.replicas,
      walBudgetMB: ((budget) =>
        budget === undefined ? pgoWalBudgetMB(storage.data) : (walBudgetMB(budget) ?? -1))(
        m.maxSlotWalKeepSize ?? stack.maxSlotWalKeepSize,
      ),
    };
  },

  nameProblems(members, memberKey) {
    // PGO names the objects of a cluster `<cluster>-<suffix>` in its namespace.
    const problems: string[] = [];
    for (const a of members) {
      for (const b of members) {
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
    return problems;
  },

  planServer(member, context) {
    const verifies = member.admin.sslmode === 'verify-ca' || member.admin.sslmode === 'verify-full';
    return {
      kind: 'pgo',
      member,
      database: context.database,
      // A new `passwordRotation` value generates a new password (keepers are set only once a rotation
      // is asked for, so a member that never rotated keeps its first password and its state).
      password: {
        resourceName: `${member.name}-postgres-password`,
        args: {
          length: 32,
          special: false,
          ...(member.passwordRotation !== undefined
            ? { keepers: { rotation: member.passwordRotation } }
            : {}),
        },
      },
      salt: { resourceName: `${member.name}-scram-salt`, length: SCRAM_SALT_BYTES },
      secretPatch: {
        resourceName: `${member.name}-pguser-postgres`,
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
      },
      ...(context.monitoring ? { queries: queriesRecord(member, context) } : {}),
      cluster: {
        resourceName: member.name,
        manifest: postgresClusterManifest({
          member,
          postgresVersion: member.postgresVersion,
          capacity: context.maxMembers,
          monitoring: context.monitoring,
          ...(context.monitoring ? { queriesConfigMap: federationQueriesConfigMap(member.name) } : {}),
          database: context.database,
          permanentSlots: context.permanentSlots,
          idleReplicationSlotTimeout: context.idleReplicationSlotTimeout,
        }),
        retainOnDelete: context.retainClusters,
        customTimeouts: { create: '30m', update: '30m' },
      },
      ...(context.monitoring && context.prometheusRule
        ? { prometheusRule: prometheusRuleRecord(member) }
        : {}),
      ...(member.admin.sslrootcert === undefined && verifies
        ? {
            rootCa: {
              resourceName: `${member.name}-root-ca`,
              id: `${member.namespace}/${PGO_ROOT_CA_SECRET}`,
            },
          }
        : {}),
    };
  },

  provision(_name, plan, args) {
    const { member, database } = plan;
    const { parent } = args;
    const provider = k8sProviderFor(member.kubeContext, args.shared, args.federation);
    const k8sOpts = { parent, ...(provider !== undefined ? { provider } : {}) };
    const generated = new random.RandomPassword(plan.password.resourceName, plan.password.args, { parent });
    // A salt fixed in state: the verifier is a pure function of (password, salt), so a second
    // `pulumi up` computes the same verifier and shows no diff.
    const salt = new random.RandomBytes(plan.salt.resourceName, { length: plan.salt.length }, { parent });
    const password = pulumi.secret(generated.result);
    const verifier = pulumi.secret(
      pulumi.all([generated.result, salt.base64]).apply(([pw, s]) => scramSha256Verifier(pw, s)),
    );

    // The Secret patch comes BEFORE the cluster. PGO finds user Secrets by label only, keeps an
    // existing password + verifier and otherwise generates a random password; patching first means
    // the database is initialised with our verifier and there is never a window with a password we
    // do not know. PGO then re-applies the same values (server-side apply, ForceOwnership, manager
    // postgrescluster-controller): equal values are shared ownership, not a conflict. A rotation
    // changes them while PGO co-owns the fields, hence patchForce. Both keys change together: PGO
    // keeps an old verifier if only the password changes.
    const secretPatch = new k8s.core.v1.SecretPatch(
      plan.secretPatch.resourceName,
      {
        metadata: plan.secretPatch.metadata,
        data: { password: generated.result.apply(base64), verifier: verifier.apply(base64) },
      },
      k8sOpts,
    );

    const queries = plan.queries !== undefined ? declareQueries(plan.queries, k8sOpts) : undefined;
    const cluster = new k8s.apiextensions.CustomResource(plan.cluster.resourceName, plan.cluster.manifest, {
      ...k8sOpts,
      dependsOn: [secretPatch, ...(queries !== undefined ? [queries] : [])],
      retainOnDelete: plan.cluster.retainOnDelete,
      customTimeouts: plan.cluster.customTimeouts,
    });

    let ca: pulumi.Input<string> | undefined;
    let caPath: pulumi.Input<string> | undefined = member.admin.sslrootcert;
    if (member.admin.sslrootcert !== undefined) {
      ca = readCaFile(member.name, member.admin.sslrootcert);
    } else if (plan.rootCa !== undefined) {
      // Read the namespace CA only once the cluster is ready (its id is known then), so a preview of
      // a new stack does not look for a Secret PGO has not made yet.
      const id = plan.rootCa.id;
      const caSecret = k8s.core.v1.Secret.get(
        plan.rootCa.resourceName,
        cluster.id.apply(() => id),
        { ...k8sOpts, dependsOn: [cluster] },
      );
      const pem = caSecret.data.apply((data) => {
        const encoded = data[`root.crt`];
        if (encoded === undefined) {
          throw new pulumi.ResourceError(`${id} has no root.crt`, caSecret);
        }
        return Buffer.from(encoded, 'base64').toString('utf8');
      });
      ca = pem;
      caPath = pem.apply((text) => caFile(member.name, text));
    }
    const rule = prometheusRuleFor(plan.prometheusRule, args, provider);
    return {
      connection: adminConnectionArgs(member, database, password, ca),
      password,
      major: member.postgresVersion,
      ...(caPath !== undefined ? { caPath } : {}),
      ready: [cluster, secretPatch],
      resources: [
        generated,
        salt,
        secretPatch,
        ...(queries !== undefined ? [queries] : []),
        cluster,
        ...(rule !== undefined ? [rule] : []),
      ],
    };
  },
};
