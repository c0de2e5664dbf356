/**
 * The stack config's keys and their types: the stack-wide keys of the `pg-federation:` namespace
 * and the keys every member has (each kind adds its own, components/servers/<kind>.ts). Pulumi.yaml
 * declares the scalar ones with the same defaults (a unit test keeps them in step).
 */
import { z } from 'zod';
import { PARTITION_DELETIONS, SSL_MODES } from '../enums';
import { DNS_1123_LABEL } from '../naming';
import { INTERVAL, walBudgetMB } from './sizes';
import { SEED_TABLE } from './tables';

export const sslmodeSchema = z.enum(SSL_MODES);
export const portSchema = z.number().int().min(1).max(65535);
export const quantitySchema = z
  .string()
  .regex(/^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/, 'must be a Kubernetes quantity such as 1Gi');
export const namespaceSchema = z
  .string()
  .regex(DNS_1123_LABEL, 'must be a Kubernetes namespace name (a DNS-1123 label such as postgres-operator)');
export const postgresVersionSchema = z
  .number()
  .int()
  .min(14, 'datemultirange needs PostgreSQL 14 or newer')
  .max(18, 'PGO v5.8.9 runs PostgreSQL 18 at most');
/** An image reference, or '' / unset for the version's default (Pulumi.yaml declares '' as the default). */
const imageOrDefault = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v));

/** A WAL budget: `64MB`, `10GB`, `1TB`, or `-1` for none. */
export const walBudgetSchema = z
  .string()
  .refine(
    (v) => walBudgetMB(v) !== undefined,
    'must be a size such as 512MB, 10GB or 1TB (or -1 for no budget)',
  );
/** A budget, or '' / unset for the member kind's default (Pulumi.yaml declares '' as the default). */
const walBudgetOrDefault = z
  .string()
  .optional()
  .refine(
    (v) => v === undefined || v === '' || walBudgetMB(v) !== undefined,
    'must be a size such as 512MB, 10GB or 1TB (or -1 for no budget), or empty for the default',
  )
  .transform((v) => (v === '' ? undefined : v));

/** How the federation's apply workers commit (a subscription's `synchronous_commit`). */
export const SYNCHRONOUS_COMMITS = ['off', 'local', 'remote_write', 'on', 'remote_apply'] as const;

/** The keys every member has, whatever its kind. */
export const commonMemberFields = {
  name: z.string(),
  /** Where Pulumi connects (admin endpoint); each kind has its default. */
  host: z.string().min(1).optional(),
  port: portSchema.optional(),
  /** The admin role Pulumi connects as (default `postgres`). */
  user: z.string().min(1).optional(),
  /** TLS of the admin connection. */
  sslmode: sslmodeSchema.optional(),
  /** Path on this machine to the CA (PEM) that signs the member's server certificate. */
  sslrootcert: z.string().min(1).optional(),
  /** Where the other members' subscriptions connect (default: the kind's). */
  replicationHost: z.string().min(1).optional(),
  replicationPort: portSchema.optional(),
  /** TLS the subscribers use towards this member. */
  replicationSslmode: sslmodeSchema.optional(),
  /** Path, on each subscriber's server, of the CA file. */
  replicationSslrootcert: z.string().min(1).optional(),
  /** How much WAL the member's server keeps for a subscriber that is away (the stack's by default). */
  maxSlotWalKeepSize: walBudgetSchema.optional(),
};

/** A member's common keys as parsed, with its kind's name. */
export type CommonMemberSettings = z.infer<z.ZodObject<typeof commonMemberFields>> & { kind: string };

export const topSchema = z.strictObject({
  members: z.array(z.unknown()).min(1, 'list at least one member'),
  tables: z.array(z.unknown()).min(1, 'list at least one table, or leave tables unset').optional(),
  /** PGO members: the stack's defaults. */
  namespace: namespaceSchema.default('postgres-operator'),
  postgresVersion: postgresVersionSchema.default(14),
  /** Empty or unset: the image PGO ships for the member's PostgreSQL version. */
  postgresImage: imageOrDefault,
  exporterImage: imageOrDefault,
  pgbackrestImage: imageOrDefault,
  dataStorage: quantitySchema.default('1Gi'),
  backupStorage: quantitySchema.default('1Gi'),
  /** PGO members: the instances of each PostgresCluster (1: a primary alone; 2: a primary and a standby). */
  replicas: z.number().int().min(1).max(10).default(1),
  database: z.string().min(1).default('postgres'),
  replicationUser: z.string().default('federation_replicator'),
  table: z.string().default(SEED_TABLE.name),
  partitionTemplate: z.string().default(SEED_TABLE.partitionTemplate),
  defaultPartition: z.string().default(SEED_TABLE.defaultPartition),
  maxMembers: z.number().int().min(2).max(64).default(10),
  syncTimeoutSeconds: z.number().int().min(5).max(3600).default(300),
  /**
   * The WAL a member's server keeps for a subscriber that is away (`max_slot_wal_keep_size`); past it
   * the slot is lost and `pulumi up --refresh` re-copies. Empty: each kind's default.
   */
  maxSlotWalKeepSize: walBudgetOrDefault,
  /** PostgreSQL 18+: a slot idle this long is invalidated (`idle_replication_slot_timeout`); 0: never. */
  idleReplicationSlotTimeout: z
    .string()
    .regex(INTERVAL, 'must be 0 (off) or a duration such as 90min, 36h or 7d')
    .default('0'),
  /** The apply workers' commits (the subscriptions' `synchronous_commit`): `on` waits for a synchronous standby. */
  applySynchronousCommit: z.enum(SYNCHRONOUS_COMMITS).default('on'),
  partitionDeletion: z.enum(PARTITION_DELETIONS).default('detach'),
  monitoring: z.boolean().default(true),
  /**
   * PGO members with monitoring: the federation's alert rules (components/monitoring/rules.ts) as a
   * Prometheus Operator `PrometheusRule` in each namespace of theirs.
   */
  prometheusRule: z.boolean().default(false),
  /** Keep a PostgresCluster in Kubernetes when its member leaves the config (a typo must not delete a database). */
  retainClusters: z.boolean().default(true),
  /**
   * Members whose servers are gone for good. Deleting what pointed at them (subscriptions, their
   * slots) then succeeds without reaching them; otherwise a delete that cannot reach a server fails,
   * so that no replication slot is ever left untracked.
   */
  lostMembers: z.array(z.string()).default([]),
  /**
   * A change of a table's shape that removes something (a column, with its values; a tighter
   * constraint) runs only when this is true: set it once no member writes or needs what goes.
   */
  allowDestructiveChanges: z.boolean().default(false),
});

/** The stack-wide keys, parsed and defaulted. */
export type StackSettings = z.infer<typeof topSchema>;
export type RawConfig = z.input<typeof topSchema>;

/** Keys this program reads from the `pg-federation:` namespace (besides the secret `passwords`). */
export const CONFIG_KEYS = Object.keys(topSchema.shape) as Array<keyof typeof topSchema.shape>;

/** The secret key of external members' admin passwords, by member name. */
export const PASSWORDS_KEY = 'passwords';

/**
 * Whether a key's value is a string: Pulumi hands string values over as they are, and lists,
 * numbers and booleans as JSON text.
 */
export function isStringKey(key: string): boolean {
  let type: z.ZodType | undefined = (topSchema.shape as Record<string, z.ZodType>)[key];
  while (type instanceof z.ZodDefault || type instanceof z.ZodOptional || type instanceof z.ZodPipe) {
    type = (type instanceof z.ZodPipe ? type.in : type.unwrap()) as z.ZodType;
  }
  return type instanceof z.ZodString || type instanceof z.ZodEnum;
}
