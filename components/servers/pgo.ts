/**
 * A PGO member: a Crunchy PGO v5 `PostgresCluster` this program declares, in this order:
 *   1. a generated postgres password and a stable SCRAM salt → the verifier (components/scram.ts);
 *   2. the `<name>-pguser-postgres` Secret patch with PGO's labels, the password and the verifier;
 *   3. the PostgresCluster, which Pulumi waits on until an instance is ready;
 *   4. the namespace CA (`pgo-root-cacert`), read once the cluster is ready, for `verify-full`.
 * Members of one kubeconfig context share one Kubernetes provider.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import { primaryServiceHost, userSecretName } from '../naming';
import {
  PGO_LABEL_CLUSTER,
  PGO_LABEL_PGUSER,
  PGO_LABEL_ROLE,
  postgresClusterManifest,
} from '../postgresCluster';
import { SCRAM_SALT_BYTES, scramSha256Verifier } from '../scram';
import { adminConnectionArgs, readCaFile } from '../endpoints';
import { KIND_KEYS, type ProvisionArgs, type ProvisionedServer, type ServerKind } from './kind';

/** The namespace CA Secret PGO creates (key `root.crt`). */
export const PGO_ROOT_CA_SECRET = 'pgo-root-cacert';

/** Where PGO mounts the CA in every instance: what subscribers use to verify their publishers. */
export const PGO_CA_PATH = '/pgconf/tls/ca.crt';

const base64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

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

/** One Kubernetes provider per kubeconfig context, shared by the members in it. */
function k8sProviderFor(args: ProvisionArgs): k8s.Provider | undefined {
  const context = args.member.kubeContext;
  if (context === undefined) return undefined;
  const key = `k8s:${context}`;
  let provider = args.shared.get(key) as k8s.Provider | undefined;
  if (provider === undefined) {
    provider = new k8s.Provider(`k8s-${context}`, { context }, { parent: args.federation });
    args.shared.set(key, provider);
  }
  return provider;
}

export const pgoKind: ServerKind = {
  // Every kind-specific key is a PGO key so far.
  // A PGO member keeps its PostgresCluster: it upgrades in place (PGUpgrade), it does not move.
  ownKeys: KIND_KEYS.filter((key) => key !== 'serverGeneration'),

  validate() {
    return [];
  },

  endpoints(s) {
    const inCluster = primaryServiceHost(s.name, s.namespace);
    return {
      admin: {
        host: s.host ?? inCluster,
        port: s.port ?? 5432,
        sslmode: s.sslmode ?? 'verify-full',
        ...(s.sslrootcert !== undefined ? { sslrootcert: s.sslrootcert } : {}),
      },
      replication: {
        host: s.replicationHost ?? inCluster,
        port: s.replicationPort ?? 5432,
        sslmode: s.replicationSslmode ?? 'verify-full',
        sslrootcert: s.replicationSslrootcert ?? PGO_CA_PATH,
      },
    };
  },

  nodeName(config) {
    // PGO preloads pgnodemx only when pgMonitor's exporter is on.
    return config.monitoring ? 'pgnodemx' : 'static';
  },

  provision(name, args): ProvisionedServer {
    const { member, config, parent } = args;
    const provider = k8sProviderFor(args);
    const k8sOpts = { parent, ...(provider !== undefined ? { provider } : {}) };
    // A new `passwordRotation` value generates a new password (keepers are set only once a rotation
    // is asked for, so a member that never rotated keeps its first password and its state).
    const generated = new random.RandomPassword(
      `${name}-postgres-password`,
      {
        length: 32,
        special: false,
        ...(member.passwordRotation !== undefined ? { keepers: { rotation: member.passwordRotation } } : {}),
      },
      { parent },
    );
    // A salt fixed in state: the verifier is a pure function of (password, salt), so a second
    // `pulumi up` computes the same verifier and shows no diff.
    const salt = new random.RandomBytes(`${name}-scram-salt`, { length: SCRAM_SALT_BYTES }, { parent });
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

    const cluster = new k8s.apiextensions.CustomResource(
      name,
      postgresClusterManifest({
        member,
        postgresVersion: member.postgresVersion,
        capacity: config.maxMembers,
        monitoring: config.monitoring,
      }),
      {
        ...k8sOpts,
        dependsOn: [secretPatch],
        retainOnDelete: config.retainClusters,
        customTimeouts: { create: '30m', update: '30m' },
      },
    );

    let ca: pulumi.Input<string> | undefined;
    let caPath: pulumi.Input<string> | undefined = member.admin.sslrootcert;
    if (member.admin.sslrootcert !== undefined) {
      ca = readCaFile(member.name, member.admin.sslrootcert);
    } else if (member.admin.sslmode === 'verify-ca' || member.admin.sslmode === 'verify-full') {
      // Read the namespace CA only once the cluster is ready (its id is known then), so a preview of
      // a new stack does not look for a Secret PGO has not made yet.
      const caSecret = k8s.core.v1.Secret.get(
        `${name}-root-ca`,
        cluster.id.apply(() => `${member.namespace}/${PGO_ROOT_CA_SECRET}`),
        { ...k8sOpts, dependsOn: [cluster] },
      );
      const pem = caSecret.data.apply((data) => {
        const encoded = data[`root.crt`];
        if (encoded === undefined) {
          throw new pulumi.ResourceError(
            `${member.namespace}/${PGO_ROOT_CA_SECRET} has no root.crt`,
            caSecret,
          );
        }
        return Buffer.from(encoded, 'base64').toString('utf8');
      });
      ca = pem;
      caPath = pem.apply((text) => caFile(member.name, text));
    }
    return {
      connection: adminConnectionArgs(member, config.database, password, ca),
      password,
      ...(caPath !== undefined ? { caPath } : {}),
      ready: [cluster, secretPatch],
      resources: [generated, salt, secretPatch, cluster],
    };
  },
};
