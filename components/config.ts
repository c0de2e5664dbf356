/**
 * Stack config: the one place it is parsed, defaulted and validated.
 *
 * `parseFederationConfig` is a pure function over the raw values (exported for tests); `loadConfig`
 * reads them from the Pulumi stack. Every error names the config key and says how to fix it, and
 * is raised while the program runs, so `pulumi preview` fails before anything is touched.
 */
import * as pulumi from '@pulumi/pulumi';
import { z } from 'zod';
import {
  DNS_1035_LABEL,
  MAX_IDENTIFIER_BYTES,
  identifierBytes,
  isSqlName,
  partitionName,
  primaryServiceHost,
  publicationName,
  subscriptionName,
} from './naming';

export const CONFIG_NAMESPACE = 'pg-federation';

/** The seed's images (PGO v5.0.3 era); override them per stack with `images`. */
export const DEFAULT_IMAGES = {
  postgres: 'registry.developers.crunchydata.com/crunchydata/crunchy-postgres:centos8-14.0-0',
  exporter: 'registry.developers.crunchydata.com/crunchydata/crunchy-postgres-exporter:ubi8-5.0.3-0',
  pgbackrest: 'registry.developers.crunchydata.com/crunchydata/crunchy-pgbackrest:centos8-2.35-0',
};

const sslmode = z.enum(['disable', 'require', 'verify-ca', 'verify-full']);
export type SslMode = z.infer<typeof sslmode>;

const quantity = z
  .string()
  .regex(/^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/, 'must be a Kubernetes quantity such as 1Gi');

const port = z.number().int().min(1).max(65535);

const memberSchema = z.strictObject({
  name: z.string(),
  /** `pgo`: a PostgresCluster this program declares; `external`: a server it only connects to. */
  kind: z.enum(['pgo', 'external']).default('pgo'),
  /** PGO members: the namespace of the cluster (defaults to the stack's `namespace`). */
  namespace: z.string().optional(),
  /** PGO members: the kubeconfig context of the Kubernetes cluster it runs in (default: the current one). */
  kubeContext: z.string().min(1).optional(),
  /** Where Pulumi connects (admin endpoint). PGO default: `<name>-primary.<namespace>.svc`. */
  host: z.string().min(1).optional(),
  port: port.optional(),
  /** External members: the admin role Pulumi connects as (default `postgres`). */
  user: z.string().min(1).optional(),
  /** TLS of the admin connection. PGO default `verify-full` with the namespace CA. */
  sslmode: sslmode.optional(),
  /** Path on this machine to the CA (PEM) that signs the member's server certificate. */
  sslrootcert: z.string().min(1).optional(),
  /** Where the other members' subscriptions connect (default: the admin endpoint; PGO: the primary service). */
  replicationHost: z.string().min(1).optional(),
  replicationPort: port.optional(),
  /** TLS the subscribers use towards this member (PGO default `verify-full`). */
  replicationSslmode: sslmode.optional(),
  /** Path, on each subscriber's server, of the CA file (PGO default `/pgconf/tls/ca.crt`). */
  replicationSslrootcert: z.string().min(1).optional(),
  postgresImage: z.string().min(1).optional(),
  exporterImage: z.string().min(1).optional(),
  pgbackrestImage: z.string().min(1).optional(),
  dataStorage: quantity.optional(),
  backupStorage: quantity.optional(),
});

const rawSchema = z.strictObject({
  members: z.array(memberSchema).min(1, 'list at least one member'),
  namespace: z.string().default('postgres-operator'),
  postgresVersion: z
    .number()
    .int()
    .min(14, 'datemultirange needs PostgreSQL 14 or newer')
    .max(17)
    .default(14),
  postgresImage: z.string().min(1).default(DEFAULT_IMAGES.postgres),
  exporterImage: z.string().min(1).default(DEFAULT_IMAGES.exporter),
  pgbackrestImage: z.string().min(1).default(DEFAULT_IMAGES.pgbackrest),
  dataStorage: quantity.default('1Gi'),
  backupStorage: quantity.default('1Gi'),
  database: z.string().min(1).default('postgres'),
  replicationUser: z.string().default('federation_replicator'),
  table: z.string().default('hippos'),
  partitionTemplate: z.string().default('{member}'),
  defaultPartition: z.string().default('hippo_default'),
  maxMembers: z.number().int().min(2).max(64).default(10),
  syncTimeoutSeconds: z.number().int().min(5).max(3600).default(300),
  partitionDeletion: z.enum(['detach', 'keep', 'drop']).default('detach'),
  monitoring: z.boolean().default(true),
  /** Keep a PostgresCluster in Kubernetes when its member leaves the config (a typo must not delete a database). */
  retainClusters: z.boolean().default(true),
});

export type RawConfig = z.input<typeof rawSchema>;

export interface Endpoint {
  host: string;
  port: number;
  sslmode: SslMode;
  /** Admin endpoint: a CA file on this machine. Replication endpoint: a CA file on the subscriber's server. */
  sslrootcert?: string;
}

export interface MemberConfig {
  name: string;
  kind: 'pgo' | 'external';
  /** Kubernetes namespace (PGO members). */
  namespace: string;
  /** kubeconfig context (PGO members); undefined: the ambient one. */
  kubeContext?: string;
  /** Admin role Pulumi connects as. */
  user: string;
  admin: Endpoint;
  replication: Endpoint;
  storage: { data: string; backup: string };
  images: { postgres: string; exporter: string; pgbackrest: string };
}

export interface FederationConfig {
  members: MemberConfig[];
  postgresVersion: number;
  database: string;
  /** The login role (REPLICATION, SELECT on its member's own partition) that subscriptions use. */
  replicationUser: string;
  schema: string;
  table: string;
  partitionTemplate: string;
  defaultPartition: string;
  maxMembers: number;
  syncTimeoutSeconds: number;
  partitionDeletion: 'detach' | 'keep' | 'drop';
  monitoring: boolean;
  retainClusters: boolean;
}

/** A config error that names the key and the fix. */
export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`invalid stack config:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const PGO_ONLY_KEYS = [
  'namespace',
  'kubeContext',
  'postgresImage',
  'exporterImage',
  'pgbackrestImage',
  'dataStorage',
  'backupStorage',
] as const;

function keyPath(path: PropertyKey[]): string {
  const key = path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`))
    .join('');
  return key === '' ? CONFIG_NAMESPACE : `${CONFIG_NAMESPACE}:${key}`;
}

/** Parse, default and validate raw stack config. Throws `ConfigError` listing every problem. */
export function parseFederationConfig(raw: Record<string, unknown>): FederationConfig {
  const parsed = rawSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const where = keyPath(issue.path);
        if (issue.code === 'unrecognized_keys') {
          return `${where}: unknown key(s) ${issue.keys.join(', ')}; check the spelling against the config reference in README.md`;
        }
        return `${where}: ${issue.message}`;
      }),
    );
  }
  const cfg = parsed.data;
  const problems: string[] = [];

  const sqlNames: Array<[string, string]> = [
    ['replicationUser', cfg.replicationUser],
    ['table', cfg.table],
    ['defaultPartition', cfg.defaultPartition],
  ];
  for (const [key, value] of sqlNames) {
    if (!isSqlName(value)) {
      problems.push(
        `${CONFIG_NAMESPACE}:${key}: "${value}" must be a lowercase SQL name (letters, digits, '_', at most ${MAX_IDENTIFIER_BYTES} bytes)`,
      );
    }
  }
  if (!cfg.partitionTemplate.includes('{member}')) {
    problems.push(
      `${CONFIG_NAMESPACE}:partitionTemplate: "${cfg.partitionTemplate}" must contain {member}, e.g. "{member}" or "orders_{member}"`,
    );
  }
  if (cfg.members.length > cfg.maxMembers) {
    problems.push(
      `${CONFIG_NAMESPACE}:maxMembers: ${cfg.members.length} members are listed but maxMembers is ${cfg.maxMembers}; ` +
        `raise maxMembers (this resizes replication settings and restarts every member's server) or list fewer members`,
    );
  }

  const seen = new Map<string, number>();
  const taken = new Map<string, string>([
    [cfg.table, 'the table'],
    [cfg.defaultPartition, 'the default partition'],
  ]);
  cfg.members.forEach((m, i) => {
    const where = `${CONFIG_NAMESPACE}:members[${i}].name`;
    if (!DNS_1035_LABEL.test(m.name)) {
      problems.push(
        `${where}: "${m.name}" is not a DNS-1035 label (lowercase letters, digits and '-', starting with a letter, ` +
          `ending with a letter or digit, at most 63 characters); rename it, e.g. "${suggestLabel(m.name)}"`,
      );
      return;
    }
    const previous = seen.get(m.name);
    if (previous !== undefined) {
      problems.push(
        `${where}: "${m.name}" is listed twice (also members[${previous}].name); member names must be unique`,
      );
      return;
    }
    seen.set(m.name, i);
    const partition = partitionName(cfg.partitionTemplate, m.name);
    for (const [kind, ident] of [
      ['partition', partition],
      ['publication', publicationName(m.name)],
    ] as const) {
      if (identifierBytes(ident) > MAX_IDENTIFIER_BYTES) {
        problems.push(
          `${where}: the ${kind} name "${ident}" derived from "${m.name}" is ${identifierBytes(ident)} bytes, over PostgreSQL's ${MAX_IDENTIFIER_BYTES}; use a shorter member name`,
        );
      }
    }
    const owner = taken.get(partition);
    if (owner !== undefined) {
      problems.push(
        `${where}: "${m.name}" gives partition name "${partition}" (after '-' → '_'), which collides with ${owner}; rename the member`,
      );
    }
    taken.set(partition, `the partition of member "${m.name}"`);
    if (m.kind === 'external' && m.host === undefined) {
      problems.push(`${CONFIG_NAMESPACE}:members[${i}].host: external member "${m.name}" needs a host`);
    }
    const pgoOnly = PGO_ONLY_KEYS.filter((key) => m[key] !== undefined);
    if (m.kind === 'external' && pgoOnly.length > 0) {
      problems.push(
        `${CONFIG_NAMESPACE}:members[${i}]: ${pgoOnly.join(', ')} apply to PGO members only; remove them from external member "${m.name}"`,
      );
    }
  });
  const longest = [...seen.keys()].sort((a, b) => b.length - a.length).slice(0, 2);
  if (longest.length === 2) {
    const [a, b] = longest as [string, string];
    const sub = subscriptionName(a, b);
    if (identifierBytes(sub) > MAX_IDENTIFIER_BYTES) {
      problems.push(
        `${CONFIG_NAMESPACE}:members: the subscription name "${sub}" (for "${a}" ← "${b}") is ${identifierBytes(sub)} bytes, ` +
          `over PostgreSQL's ${MAX_IDENTIFIER_BYTES}; keep any two member names within ${MAX_IDENTIFIER_BYTES - 5} characters together`,
      );
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const members = cfg.members.map((m): MemberConfig => {
    const namespace = m.namespace ?? cfg.namespace;
    const isPgo = m.kind === 'pgo';
    const inCluster = primaryServiceHost(m.name, namespace);
    const adminHost = m.host ?? inCluster;
    const admin: Endpoint = {
      host: adminHost,
      port: m.port ?? 5432,
      sslmode: m.sslmode ?? (isPgo ? 'verify-full' : 'require'),
      ...(m.sslrootcert !== undefined ? { sslrootcert: m.sslrootcert } : {}),
    };
    const replicationSslrootcert = m.replicationSslrootcert ?? (isPgo ? '/pgconf/tls/ca.crt' : undefined);
    const replication: Endpoint = {
      host: m.replicationHost ?? (isPgo ? inCluster : adminHost),
      port: m.replicationPort ?? (isPgo ? 5432 : admin.port),
      sslmode: m.replicationSslmode ?? (isPgo ? 'verify-full' : admin.sslmode),
      ...(replicationSslrootcert !== undefined ? { sslrootcert: replicationSslrootcert } : {}),
    };
    return {
      name: m.name,
      kind: m.kind,
      namespace,
      ...(m.kubeContext !== undefined ? { kubeContext: m.kubeContext } : {}),
      user: m.user ?? 'postgres',
      admin,
      replication,
      storage: { data: m.dataStorage ?? cfg.dataStorage, backup: m.backupStorage ?? cfg.backupStorage },
      images: {
        postgres: m.postgresImage ?? cfg.postgresImage,
        exporter: m.exporterImage ?? cfg.exporterImage,
        pgbackrest: m.pgbackrestImage ?? cfg.pgbackrestImage,
      },
    };
  });

  return {
    members,
    postgresVersion: cfg.postgresVersion,
    database: cfg.database,
    replicationUser: cfg.replicationUser,
    schema: 'public',
    table: cfg.table,
    partitionTemplate: cfg.partitionTemplate,
    defaultPartition: cfg.defaultPartition,
    maxMembers: cfg.maxMembers,
    syncTimeoutSeconds: cfg.syncTimeoutSeconds,
    partitionDeletion: cfg.partitionDeletion,
    monitoring: cfg.monitoring,
    retainClusters: cfg.retainClusters,
  };
}

function suggestLabel(name: string): string {
  const label = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/-+$/, '')
    .slice(0, 63);
  return label.length > 0 ? label : 'hippo-east';
}

/** Keys this program reads from the `pg-federation:` namespace (besides the secret `passwords`). */
export const CONFIG_KEYS = Object.keys(rawSchema.shape) as Array<keyof typeof rawSchema.shape>;

/** Read the stack's config. Unknown keys in our namespace are errors (a typo must not be ignored). */
export function loadConfig(): { config: FederationConfig; passwords: pulumi.Output<Record<string, string>> } {
  const cfg = new pulumi.Config(CONFIG_NAMESPACE);
  const all = pulumi.runtime.allConfig();
  const raw: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const fullKey of Object.keys(all)) {
    if (!fullKey.startsWith(`${CONFIG_NAMESPACE}:`)) continue;
    const key = fullKey.slice(CONFIG_NAMESPACE.length + 1);
    if (key === 'passwords') continue;
    if (!(CONFIG_KEYS as string[]).includes(key)) {
      problems.push(`${fullKey}: unknown key; check the spelling against the config reference in README.md`);
      continue;
    }
    const text = all[fullKey] ?? '';
    raw[key] = isStringKey(key) ? text : parseConfigValue(text);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const config = parseFederationConfig(raw);
  const passwords =
    cfg.getSecretObject<Record<string, string>>('passwords') ?? pulumi.secret<Record<string, string>>({});
  const secretKeys = passwordKeys(all[`${CONFIG_NAMESPACE}:passwords`]);
  const missing = config.members.filter((m) => m.kind === 'external' && !secretKeys.includes(m.name));
  if (missing.length > 0) {
    throw new ConfigError(
      missing.map(
        (m) =>
          `${CONFIG_NAMESPACE}:passwords.${m.name}: external member "${m.name}" needs its admin password; ` +
          `set it with: pulumi config set --secret --path 'passwords["${m.name}"]' <password>`,
      ),
    );
  }
  return { config, passwords };
}

/** String-valued keys arrive as they are; lists, numbers and booleans arrive as JSON text. */
function isStringKey(key: string): boolean {
  let type: z.ZodType | undefined = (rawSchema.shape as Record<string, z.ZodType>)[key];
  while (type instanceof z.ZodDefault || type instanceof z.ZodOptional) type = type.unwrap() as z.ZodType;
  return type instanceof z.ZodString || type instanceof z.ZodEnum;
}

/** Config values arrive as strings; structured values and numbers are JSON. */
function parseConfigValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Names of the members that have a password, without keeping the passwords. */
function passwordKeys(text: string | undefined): string[] {
  if (text === undefined) return [];
  const value = parseConfigValue(text);
  return value !== null && typeof value === 'object' ? Object.keys(value) : [];
}
