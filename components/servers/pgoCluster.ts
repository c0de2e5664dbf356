/**
 * The PGO v5 `PostgresCluster` manifest for a member: a pure function, validated against the real
 * CRD in the tests.
 */
import { serverSettings } from '../replicationSettings';
import { pgMonitorQueriesConfigMap } from './pgoNames';

export const PGO_API_VERSION = 'postgres-operator.crunchydata.com/v1beta1';
export const PGO_KIND = 'PostgresCluster';
export const PGO_LABEL_CLUSTER = 'postgres-operator.crunchydata.com/cluster';
export const PGO_LABEL_PGUSER = 'postgres-operator.crunchydata.com/pguser';
export const PGO_LABEL_ROLE = 'postgres-operator.crunchydata.com/role';

/**
 * Pulumi waits on this before anything connects: the one instance set reports every instance ready.
 * PGO has no generic Ready condition (see the facts notes); `readyReplicas` is what it exposes.
 */
export function readyWaitFor(replicas: number): string {
  return `jsonpath={.status.instances[0].readyReplicas}=${replicas}`;
}

/** What of a PGO member its manifest holds. */
export interface ClusterMember {
  name: string;
  namespace: string;
  images: { postgres: string; exporter: string; pgbackrest: string };
  storage: { data: string; backup: string };
  /** Instances: a primary and its standbys. */
  replicas: number;
  /** `max_slot_wal_keep_size` in MB; -1: none. */
  walBudgetMB: number;
}

export interface PostgresClusterOptions {
  member: ClusterMember;
  postgresVersion: number;
  /** Mesh capacity the replication settings are sized for (`maxMembers`). */
  capacity: number;
  /** pgMonitor's exporter; PGO preloads pgnodemx (needed by `get_node_name()`) only when it is set. */
  monitoring: boolean;
  /** With monitoring: the ConfigMap of the federation's queries for the exporter, beside pgMonitor's. */
  queriesConfigMap?: { name: string; key: string };
  /** The database of the federated tables (where its logical slots decode). */
  database: string;
  /**
   * The logical slots on this member that Patroni keeps as permanent slots: created on the primary,
   * copied to its standbys and advanced there, so they survive a failover. The slots of subscribers
   * that use PostgreSQL 17's failover slots are not listed (slot synchronisation keeps those).
   */
  permanentSlots: string[];
  /** PostgreSQL 18+: `idle_replication_slot_timeout` ('0': off). */
  idleReplicationSlotTimeout: string;
}

/**
 * Patroni's dynamic configuration: the replication settings for the mesh's capacity, and what keeps
 * the member's logical slots through a failover. PGO v5.8.9 passes this through to Patroni but for
 * `ttl`, `loop_wait`, `postgresql.parameters` (merged under its mandatory ones) and `pg_hba`, and it
 * defaults `postgresql.use_slots` to false (internal/patroni/config.go, DynamicConfiguration), which
 * this overrides:
 * - `use_slots: true`: Patroni then keeps permanent slots (`slots:`, of every major) and sets each
 *   standby's `primary_slot_name`, which PostgreSQL 17's slot synchronisation needs. With it false,
 *   Patroni drops every inactive slot it does not know when it reloads its slot list
 *   (patroni/postgresql/slots.py `_drop_incorrect_slots`), ours included;
 * - `hot_standby_feedback`, and on 17+ `sync_replication_slots`: a standby keeps failover slots in
 *   step (Patroni 4.1+ leaves `failover = true` slots alone);
 * - `max_slot_wal_keep_size`: the WAL budget (reloaded, no restart).
 * `synchronized_standby_slots` is left unset: it must name each standby's physical slot, which
 * Patroni names after pods PGO names with random suffixes, and a name that does not exist stops
 * every logical walsender.
 */
function dynamicConfiguration(opts: PostgresClusterOptions): Record<string, unknown> {
  const v = opts.postgresVersion;
  const parameters: Record<string, unknown> = {
    ...serverSettings(opts.capacity, v),
    max_slot_wal_keep_size: opts.member.walBudgetMB < 0 ? '-1' : `${opts.member.walBudgetMB}MB`,
    hot_standby_feedback: 'on',
    ...(v >= 17 ? { sync_replication_slots: 'on' } : {}),
    ...(v >= 18 && opts.idleReplicationSlotTimeout !== '0'
      ? { idle_replication_slot_timeout: opts.idleReplicationSlotTimeout }
      : {}),
  };
  return {
    postgresql: { use_slots: true, parameters },
    ...(opts.permanentSlots.length > 0
      ? {
          slots: Object.fromEntries(
            opts.permanentSlots.map((name) => [
              name,
              { type: 'logical', database: opts.database, plugin: 'pgoutput' },
            ]),
          ),
        }
      : {}),
  };
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

/**
 * The exporter's `configuration`: projections into the folder whose every file PGO v5.8.9's exporter
 * concatenates into its `--extend.query-path` file (internal/pgmonitor/exporter.go,
 * ExporterStartCommand: `cat /conf/* > /tmp/queries.yml`, re-run when the folder changes). Setting it
 * drops PGO's own projection of pgMonitor's queries unless PGO runs with the AppendCustomQueries
 * feature gate (alpha, off by default; internal/controller/postgrescluster/pgmonitor.go,
 * addPGMonitorExporterToInstancePodSpec), so it projects that ConfigMap itself, under another file
 * name: with the gate on, the same queries come twice, which the exporter's YAML reader (yaml.v2,
 * not strict) takes as one. Both optional: a pod starts without either (PGO makes its own only once
 * the exporter is on; ours goes when its member leaves while its cluster is kept).
 */
function exporterConfiguration(
  cluster: string,
  queries: { name: string; key: string },
): Array<Record<string, unknown>> {
  const pgMonitor = pgMonitorQueriesConfigMap(cluster);
  return [
    {
      configMap: {
        name: pgMonitor.name,
        items: [{ key: pgMonitor.key, path: 'pgmonitor-queries.yml' }],
        optional: true,
      },
    },
    { configMap: { name: queries.name, items: [{ key: queries.key, path: queries.key }], optional: true } },
  ];
}

export function postgresClusterManifest(opts: PostgresClusterOptions): PostgresClusterManifest {
  const { member } = opts;
  const spec: Record<string, unknown> = {
    image: member.images.postgres,
    postgresVersion: opts.postgresVersion,
    instances: [
      {
        name: 'instance1',
        ...(member.replicas !== 1 ? { replicas: member.replicas } : {}),
        dataVolumeClaimSpec: volumeClaim(member.storage.data),
      },
    ],
    users: [{ name: 'postgres' }],
    patroni: { dynamicConfiguration: dynamicConfiguration(opts) },
    backups: {
      pgbackrest: {
        image: member.images.pgbackrest,
        repos: [{ name: 'repo1', volume: { volumeClaimSpec: volumeClaim(member.storage.backup) } }],
      },
    },
  };
  if (opts.monitoring) {
    spec.monitoring = {
      pgmonitor: {
        exporter: {
          image: member.images.exporter,
          ...(opts.queriesConfigMap !== undefined
            ? { configuration: exporterConfiguration(member.name, opts.queriesConfigMap) }
            : {}),
        },
      },
    };
  }
  return {
    apiVersion: PGO_API_VERSION,
    kind: PGO_KIND,
    metadata: {
      name: member.name,
      namespace: member.namespace,
      annotations: { 'pulumi.com/waitFor': readyWaitFor(member.replicas) },
    },
    spec,
  };
}
