/**
 * The PGO v5 `PostgresCluster` manifest for a member: a pure function, validated against the real
 * CRD in the tests.
 */
import { replicationSettings } from '../replicationSettings';

export const PGO_API_VERSION = 'postgres-operator.crunchydata.com/v1beta1';
export const PGO_KIND = 'PostgresCluster';
export const PGO_LABEL_CLUSTER = 'postgres-operator.crunchydata.com/cluster';
export const PGO_LABEL_PGUSER = 'postgres-operator.crunchydata.com/pguser';
export const PGO_LABEL_ROLE = 'postgres-operator.crunchydata.com/role';

/**
 * Pulumi waits on this before anything connects: the one instance set reports a ready replica.
 * PGO has no generic Ready condition (see the facts notes); `readyReplicas` is what it exposes.
 */
export const READY_WAIT_FOR = 'jsonpath={.status.instances[0].readyReplicas}=1';

/** What of a PGO member its manifest holds. */
export interface ClusterMember {
  name: string;
  namespace: string;
  images: { postgres: string; exporter: string; pgbackrest: string };
  storage: { data: string; backup: string };
}

export interface PostgresClusterOptions {
  member: ClusterMember;
  postgresVersion: number;
  /** Mesh capacity the replication settings are sized for (`maxMembers`). */
  capacity: number;
  /** pgMonitor's exporter; PGO preloads pgnodemx (needed by `get_node_name()`) only when it is set. */
  monitoring: boolean;
}

export interface PostgresClusterManifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; annotations: Record<string, string> };
  spec: Record<string, unknown>;
}

function volumeClaim(size: string): Record<string, unknown> {
  return { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } } };
}

export function postgresClusterManifest(opts: PostgresClusterOptions): PostgresClusterManifest {
  const { member } = opts;
  const spec: Record<string, unknown> = {
    image: member.images.postgres,
    postgresVersion: opts.postgresVersion,
    instances: [{ name: 'instance1', dataVolumeClaimSpec: volumeClaim(member.storage.data) }],
    users: [{ name: 'postgres' }],
    patroni: {
      dynamicConfiguration: {
        postgresql: { parameters: { ...replicationSettings(opts.capacity) } },
      },
    },
    backups: {
      pgbackrest: {
        image: member.images.pgbackrest,
        repos: [{ name: 'repo1', volume: { volumeClaimSpec: volumeClaim(member.storage.backup) } }],
      },
    },
  };
  if (opts.monitoring) {
    spec.monitoring = { pgmonitor: { exporter: { image: member.images.exporter } } };
  }
  return {
    apiVersion: PGO_API_VERSION,
    kind: PGO_KIND,
    metadata: {
      name: member.name,
      namespace: member.namespace,
      annotations: { 'pulumi.com/waitFor': READY_WAIT_FOR },
    },
    spec,
  };
}
