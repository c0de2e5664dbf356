/**
 * What PGO v5.8.9 ships and how it names things: the images per PostgreSQL major, the objects it makes
 * for a cluster, its user Secrets, services and CA. Pure.
 */

/** The seed's images (PGO v5.0.3 era): the defaults for PostgreSQL 14, which stacks made for it keep. */
export const DEFAULT_IMAGES = {
  postgres: 'registry.developers.crunchydata.com/crunchydata/crunchy-postgres:centos8-14.0-0',
  exporter: 'registry.developers.crunchydata.com/crunchydata/crunchy-postgres-exporter:ubi8-5.0.3-0',
  pgbackrest: 'registry.developers.crunchydata.com/crunchydata/crunchy-pgbackrest:centos8-2.35-0',
};

/** The images PGO v5.8.9 ships for each major it supports (its config/manager/manager.yaml, RELATED_IMAGE_*). */
const PGO_589 = 'registry.developers.crunchydata.com/crunchydata';
export const IMAGES_BY_VERSION: Record<number, typeof DEFAULT_IMAGES> = {
  14: DEFAULT_IMAGES,
  ...Object.fromEntries(
    (
      [
        [15, '15.19'],
        [16, '16.15'],
        [17, '17.11'],
        [18, '18.6'],
      ] as const
    ).map(([major, version]) => [
      major,
      {
        postgres: `${PGO_589}/crunchy-postgres:ubi9-${version}-2633`,
        exporter: `${PGO_589}/crunchy-postgres-exporter:ubi9-0.19.1-2633`,
        pgbackrest: `${PGO_589}/crunchy-pgbackrest:ubi9-2.59.0-2633`,
      },
    ]),
  ),
};

/**
 * The ConfigMap of pgMonitor's queries PGO makes for a cluster with the exporter (key
 * `defaultQueries.yml`; PGO v5.8.9 internal/naming/names.go ExporterQueriesConfigMap,
 * internal/controller/postgrescluster/pgmonitor.go reconcileExporterQueriesConfig).
 */
export function pgMonitorQueriesConfigMap(cluster: string): { name: string; key: string } {
  return { name: `${cluster}-exporter-queries-config`, key: 'defaultQueries.yml' };
}

/** Ours: the ConfigMap of the federation's queries for a member's exporter (components/monitoring/). */
export function federationQueriesConfigMap(cluster: string): { name: string; key: string } {
  return { name: `${cluster}-federation-queries`, key: 'queries.yml' };
}

/** The namespace CA Secret PGO creates (key `root.crt`). */
export const PGO_ROOT_CA_SECRET = 'pgo-root-cacert';

/** Where PGO mounts the CA in every instance: what subscribers use to verify their publishers. */
export const PGO_CA_PATH = '/pgconf/tls/ca.crt';

/** PGO's user Secret for `user` on `cluster`. */
export function userSecretName(cluster: string, user: string): string {
  return `${cluster}-pguser-${user}`;
}

/** The in-cluster DNS name of a PGO cluster's primary service. */
export function primaryServiceHost(cluster: string, namespace: string): string {
  return `${cluster}-primary.${namespace}.svc`;
}

/**
 * Objects PGO makes for a cluster in its namespace, named `<cluster>-<suffix>` (PGO v5
 * internal/naming/names.go): a member named like one of another member's would collide with it.
 */
export const PGO_OBJECT_SUFFIXES = [
  'primary',
  'replicas',
  'pods',
  'ha',
  'ha-config',
  'config',
  'cluster-cert',
  'replication-cert',
  'monitoring',
  'pgbackrest',
  'pguser',
  'instance1',
  'repo-host',
  'backup',
  'pgbouncer',
];
