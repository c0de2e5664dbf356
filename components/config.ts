/**
 * Stack config: the one place it is parsed, defaulted and validated.
 *
 * `parseFederationConfig` is a pure function over the raw values (exported for tests); `loadConfig`
 * reads them from the Pulumi stack. Every problem is reported at once, each naming the config key and
 * the fix, while the program runs, so `pulumi preview` fails before anything is touched. Names the
 * federation derives (SQL objects, Kubernetes objects, Pulumi resources) are checked against each
 * other by the plan (components/plan.ts), which this module calls.
 */
import * as pulumi from '@pulumi/pulumi';
import { z } from 'zod';
import { PARTITION_DELETIONS, type PartitionDeletion, SSL_MODES, type SslMode } from './enums';
import { KIND_KEYS, type MemberKind, MEMBER_KINDS, SERVER_KINDS } from './servers';
import {
  DNS_1035_LABEL,
  DNS_1123_LABEL,
  MAX_IDENTIFIER_BYTES,
  identifierBytes,
  isSqlName,
  publicationName,
  suggestMemberName,
} from './naming';
import { nameCollisions } from './plan';
import { type TableSpec, SEED_TABLE, tableSpecSchema, validateTable } from './tables';

export const CONFIG_NAMESPACE = 'pg-federation';

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

/** The PostgreSQL majors this program federates (the PGO v5.8.9 CRD accepts up to 18). */
export const POSTGRES_MAJORS = [14, 15, 16, 17, 18] as const;

const sslmode = z.enum(SSL_MODES);
/** An image reference, or '' / unset for the version's default (Pulumi.yaml declares '' as the default). */
const imageOrDefault = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v));
const postgresVersion = z
  .number()
  .int()
  .min(14, 'datemultirange needs PostgreSQL 14 or newer')
  .max(18, 'PGO v5.8.9 runs PostgreSQL 18 at most');

const quantity = z
  .string()
  .regex(/^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/, 'must be a Kubernetes quantity such as 1Gi');
const port = z.number().int().min(1).max(65535);
const namespace = z
  .string()
  .regex(DNS_1123_LABEL, 'must be a Kubernetes namespace name (a DNS-1123 label such as postgres-operator)');

const memberSchema = z.strictObject({
  name: z.string(),
  /** `pgo`: a PostgresCluster this program declares; `external`: a server it only connects to. */
  kind: z.enum(MEMBER_KINDS).default('pgo'),
  /** PGO members: the namespace of the cluster (defaults to the stack's `namespace`). */
  namespace: namespace.optional(),
  /** PGO members: the kubeconfig context of the Kubernetes cluster it runs in (default: the current one). */
  kubeContext: z.string().min(1).optional(),
  /** Where Pulumi connects (admin endpoint). PGO default: `<name>-primary.<namespace>.svc`. */
  host: z.string().min(1).optional(),
  port: port.optional(),
  /** The admin role Pulumi connects as (default `postgres`). */
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
  /** PGO members: change it (any new value) to rotate the member's postgres password. */
  passwordRotation: z.union([z.string().min(1), z.number()]).optional(),
  /** PGO members: the PostgreSQL major of this member (default: the stack's `postgresVersion`). */
  postgresVersion: postgresVersion.optional(),
  /**
   * External members: which server the member has had (1, 2, …). Raised together with host/port, it
   * moves the member to a new, empty server: everything of it is made there, its own partitions
   * restored from the peers' copies, and removed from the old server.
   */
  serverGeneration: z.number().int().min(1).optional(),
});

const topSchema = z.strictObject({
  members: z.array(z.unknown()).min(1, 'list at least one member'),
  tables: z.array(z.unknown()).min(1, 'list at least one table, or leave tables unset').optional(),
  namespace: namespace.default('postgres-operator'),
  postgresVersion: postgresVersion.default(14),
  /** Empty or unset: the image PGO ships for the member's PostgreSQL version (IMAGES_BY_VERSION). */
  postgresImage: imageOrDefault,
  exporterImage: imageOrDefault,
  pgbackrestImage: imageOrDefault,
  dataStorage: quantity.default('1Gi'),
  backupStorage: quantity.default('1Gi'),
  database: z.string().min(1).default('postgres'),
  replicationUser: z.string().default('federation_replicator'),
  table: z.string().default(SEED_TABLE.name),
  partitionTemplate: z.string().default(SEED_TABLE.partitionTemplate),
  defaultPartition: z.string().default(SEED_TABLE.defaultPartition),
  maxMembers: z.number().int().min(2).max(64).default(10),
  syncTimeoutSeconds: z.number().int().min(5).max(3600).default(300),
  partitionDeletion: z.enum(PARTITION_DELETIONS).default('detach'),
  monitoring: z.boolean().default(true),
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

export type RawConfig = z.input<typeof topSchema>;

export interface Endpoint {
  host: string;
  port: number;
  sslmode: SslMode;
  /** Admin endpoint: a CA file on this machine. Replication endpoint: a CA file on the subscriber's server. */
  sslrootcert?: string;
}

export interface MemberConfig {
  name: string;
  kind: MemberKind;
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
  /** How `get_node_name()` knows the member's name: PGO's pgnodemx labels, or its own name. */
  nodeName: 'pgnodemx' | 'static';
  /** PGO members: a new value rotates the postgres password. */
  passwordRotation?: string;
  /** PGO members: the PostgreSQL major of its PostgresCluster. */
  postgresVersion: number;
  /** External members: which server the member has had; a new one replaces everything on it. */
  serverGeneration: number;
}

export interface FederationConfig {
  members: MemberConfig[];
  /** The federated tables, in config order. */
  tables: TableSpec[];
  /**
   * The table a stack federated before `tables` existed (config key `table`): its resources keep the
   * names they had then, through aliases.
   */
  legacyTable: string;
  postgresVersion: number;
  database: string;
  /** The login role (REPLICATION, SELECT on its member's own partitions) that subscriptions use. */
  replicationUser: string;
  schema: string;
  maxMembers: number;
  syncTimeoutSeconds: number;
  partitionDeletion: PartitionDeletion;
  monitoring: boolean;
  retainClusters: boolean;
  lostMembers: string[];
  allowDestructiveChanges: boolean;
}

/** A config error that names the key and the fix; Pulumi prints it without a stack trace. */
export class ConfigError extends pulumi.RunError {
  constructor(public readonly problems: string[]) {
    super(`invalid stack config:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** `pg-federation:members[2].name` from a zod path under a prefix. */
export function keyPath(path: PropertyKey[], prefix = ''): string {
  const key = path
    .map((part, i) =>
      typeof part === 'number' ? `[${part}]` : `${i === 0 && prefix === '' ? '' : '.'}${String(part)}`,
    )
    .join('');
  const full = `${prefix}${key}`;
  return full === '' ? CONFIG_NAMESPACE : `${CONFIG_NAMESPACE}:${full}`;
}

/** zod's issues as our sentences. */
export function zodProblems(error: z.ZodError, prefix = ''): string[] {
  return error.issues.map((issue) => {
    const where = keyPath(issue.path, prefix);
    if (issue.code === 'unrecognized_keys') {
      return `${where}: unknown key(s) ${issue.keys.join(', ')}; check the spelling against the config reference in README.md`;
    }
    return `${where}: ${issue.message}`;
  });
}

/** Parse, default and validate raw stack config. Throws `ConfigError` listing every problem. */
export function parseFederationConfig(raw: Record<string, unknown>): FederationConfig {
  const problems: string[] = [];
  const top = topSchema.safeParse(raw);
  if (!top.success) problems.push(...zodProblems(top.error));
  // Each member and table is parsed on its own, so a bad one does not hide the others' problems.
  const rawMembers = Array.isArray(raw.members) ? raw.members : [];
  const members = rawMembers.flatMap((m, i) => {
    const parsed = memberSchema.safeParse(m);
    if (!parsed.success) {
      problems.push(...zodProblems(parsed.error, `members[${i}]`));
      return [];
    }
    return [{ index: i, member: parsed.data }];
  });
  const cfg = top.success ? top.data : topSchema.parse(topDefaults(raw));

  for (const [key, value] of [['replicationUser', cfg.replicationUser]] as const) {
    if (!isSqlName(value)) {
      problems.push(
        `${CONFIG_NAMESPACE}:${key}: "${value}" must be a lowercase SQL name (letters, digits, '_', at most ${MAX_IDENTIFIER_BYTES} bytes)`,
      );
    }
  }
  if (rawMembers.length > cfg.maxMembers) {
    problems.push(
      `${CONFIG_NAMESPACE}:maxMembers: ${rawMembers.length} members are listed but maxMembers is ${cfg.maxMembers}; ` +
        `raise maxMembers (this resizes replication settings and restarts every member's server) or list fewer members`,
    );
  }

  const tables = parseTables(raw, cfg, problems);

  const seen = new Map<string, number>();
  const accepted: Array<{ index: number; member: z.infer<typeof memberSchema> }> = [];
  for (const { index, member: m } of members) {
    const where = `${CONFIG_NAMESPACE}:members[${index}].name`;
    const label = memberNameProblem(m.name);
    if (label !== undefined) {
      problems.push(`${where}: "${m.name}" ${label}; rename it, e.g. "${suggestMemberName(m.name, index)}"`);
      continue;
    }
    const previous = seen.get(m.name);
    if (previous !== undefined) {
      problems.push(
        `${where}: "${m.name}" is listed twice (also members[${previous}].name); member names must be unique`,
      );
      continue;
    }
    seen.set(m.name, index);
    accepted.push({ index, member: m });
    const kind = SERVER_KINDS[m.kind];
    for (const problem of kind.validate(endpointSettings(m, cfg.namespace))) {
      problems.push(`${CONFIG_NAMESPACE}:members[${index}].${problem}`);
    }
    const foreign = KIND_KEYS.filter((key) => m[key] !== undefined && !kind.ownKeys.includes(key));
    if (foreign.length > 0) {
      problems.push(
        `${CONFIG_NAMESPACE}:members[${index}]: ${foreign.join(', ')} do not apply to ${m.kind} members; remove them from member "${m.name}"`,
      );
    }
    if ((m.user ?? 'postgres') === cfg.replicationUser) {
      problems.push(
        `${CONFIG_NAMESPACE}:replicationUser: "${cfg.replicationUser}" is also the admin role of member "${m.name}"; ` +
          `the federation manages the replication role's password and privileges, so choose another name`,
      );
    }
  }
  for (const name of cfg.lostMembers) {
    if (seen.has(name)) {
      problems.push(
        `${CONFIG_NAMESPACE}:lostMembers: "${name}" is still listed in members; a lost member is one removed from members whose server is gone for good`,
      );
    }
  }

  const parsedMembers = accepted.map(({ member }) => resolveMember(member, cfg));
  if (problems.length === 0) {
    const config: FederationConfig = {
      members: parsedMembers,
      tables,
      legacyTable: cfg.table,
      postgresVersion: cfg.postgresVersion,
      database: cfg.database,
      replicationUser: cfg.replicationUser,
      schema: 'public',
      maxMembers: cfg.maxMembers,
      syncTimeoutSeconds: cfg.syncTimeoutSeconds,
      partitionDeletion: cfg.partitionDeletion,
      monitoring: cfg.monitoring,
      retainClusters: cfg.retainClusters,
      lostMembers: cfg.lostMembers,
      allowDestructiveChanges: cfg.allowDestructiveChanges,
    };
    problems.push(...nameCollisions(config));
    if (problems.length === 0) return config;
  }
  throw new ConfigError(problems);
}

/** Defaults for the keys that did parse, so the rest of the checks can run past a bad one. */
function topDefaults(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { members: [{}] };
  for (const [key, shape] of Object.entries(topSchema.shape)) {
    if (key === 'members' || key === 'tables' || !(key in raw)) continue;
    if ((shape as z.ZodType).safeParse(raw[key]).success) out[key] = raw[key];
  }
  return out;
}

/** Why a member name cannot be used, or undefined. */
export function memberNameProblem(name: string): string | undefined {
  if (!DNS_1035_LABEL.test(name)) {
    return (
      "is not a DNS-1035 label (lowercase letters, digits and '-', starting with a letter, " +
      'ending with a letter or digit, at most 63 characters)'
    );
  }
  const publication = publicationName(name);
  if (identifierBytes(publication) > MAX_IDENTIFIER_BYTES) {
    return `gives publication name "${publication}" of ${identifierBytes(publication)} bytes, over PostgreSQL's ${MAX_IDENTIFIER_BYTES}`;
  }
  return undefined;
}

function parseTables(
  raw: Record<string, unknown>,
  cfg: z.infer<typeof topSchema>,
  problems: string[],
): TableSpec[] {
  // Pulumi.yaml declares their defaults, which the runtime hands over as values: only a value other
  // than the default means someone set it.
  const legacyKeys = (['table', 'partitionTemplate', 'defaultPartition'] as const).filter(
    (k) => k in raw && raw[k] !== topSchema.shape[k].parse(undefined),
  );
  if (raw.tables === undefined) {
    // The seed's table, under the names the legacy keys give it.
    const spec: TableSpec = {
      ...SEED_TABLE,
      name: cfg.table,
      partitionTemplate: cfg.partitionTemplate,
      defaultPartition: cfg.defaultPartition,
    };
    problems.push(...validateTable(spec, '').map(legacyKey));
    return [spec];
  }
  if (legacyKeys.length > 0) {
    problems.push(
      `${CONFIG_NAMESPACE}:${legacyKeys.join(', ')}: set these on each entry of tables instead (tables[].name, ` +
        `tables[].partitionTemplate, tables[].defaultPartition); with tables listed they have no meaning`,
    );
  }
  const list = Array.isArray(raw.tables) ? raw.tables : [];
  return list.flatMap((t, i) => {
    const parsed = tableSpecSchema.safeParse(t);
    if (!parsed.success) {
      problems.push(...zodProblems(parsed.error, `tables[${i}]`));
      return [];
    }
    const spec = parsed.data;
    const issues = validateTable(spec, `tables[${i}]`);
    problems.push(...issues.map((p) => `${CONFIG_NAMESPACE}:${p}`));
    return issues.length === 0 ? [spec] : [];
  });
}

/** A problem of the implicit seed table, named by its legacy key. */
function legacyKey(problem: string): string {
  return `${CONFIG_NAMESPACE}:${problem.replace(/^name:/, 'table:')}`;
}

function versionImages(major: number): typeof DEFAULT_IMAGES {
  return IMAGES_BY_VERSION[major] ?? DEFAULT_IMAGES;
}

function endpointSettings(m: z.infer<typeof memberSchema>, namespace: string) {
  return { ...m, namespace: m.namespace ?? namespace };
}

function resolveMember(m: z.infer<typeof memberSchema>, cfg: z.infer<typeof topSchema>): MemberConfig {
  const kind = SERVER_KINDS[m.kind];
  const { admin, replication } = kind.endpoints(endpointSettings(m, cfg.namespace));
  return {
    name: m.name,
    kind: m.kind,
    namespace: m.namespace ?? cfg.namespace,
    ...(m.kubeContext !== undefined ? { kubeContext: m.kubeContext } : {}),
    user: m.user ?? 'postgres',
    admin,
    replication,
    storage: { data: m.dataStorage ?? cfg.dataStorage, backup: m.backupStorage ?? cfg.backupStorage },
    postgresVersion: m.postgresVersion ?? cfg.postgresVersion,
    images: {
      postgres:
        m.postgresImage ??
        cfg.postgresImage ??
        versionImages(m.postgresVersion ?? cfg.postgresVersion).postgres,
      exporter:
        m.exporterImage ??
        cfg.exporterImage ??
        versionImages(m.postgresVersion ?? cfg.postgresVersion).exporter,
      pgbackrest:
        m.pgbackrestImage ??
        cfg.pgbackrestImage ??
        versionImages(m.postgresVersion ?? cfg.postgresVersion).pgbackrest,
    },
    nodeName: kind.nodeName(cfg),
    ...(m.passwordRotation !== undefined ? { passwordRotation: String(m.passwordRotation) } : {}),
    serverGeneration: m.serverGeneration ?? 1,
  };
}

/** Keys this program reads from the `pg-federation:` namespace (besides the secret `passwords`). */
export const CONFIG_KEYS = Object.keys(topSchema.shape) as Array<keyof typeof topSchema.shape>;

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
  let config: FederationConfig | undefined;
  try {
    config = parseFederationConfig(raw);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  const passwordsText = all[`${CONFIG_NAMESPACE}:passwords`];
  for (const m of config?.members ?? []) {
    if (m.kind !== 'external') continue;
    const password = passwordOf(passwordsText, m.name);
    if (password === undefined || password === '') {
      problems.push(
        `${CONFIG_NAMESPACE}:passwords.${m.name}: external member "${m.name}" needs its admin password` +
          `${password === '' ? ' (it is empty)' : ''}; set it with: pulumi config set --secret --path 'passwords["${m.name}"]' <password>`,
      );
    }
  }
  if (problems.length > 0 || config === undefined) throw new ConfigError(problems);
  const passwords =
    cfg.getSecretObject<Record<string, string>>('passwords') ?? pulumi.secret<Record<string, string>>({});
  return { config, passwords };
}

/** String-valued keys arrive as they are; lists, numbers and booleans arrive as JSON text. */
function isStringKey(key: string): boolean {
  let type: z.ZodType | undefined = (topSchema.shape as Record<string, z.ZodType>)[key];
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

/** One member's password from the config text, without keeping the others. */
function passwordOf(text: string | undefined, member: string): string | undefined {
  if (text === undefined) return undefined;
  const value = parseConfigValue(text);
  if (value === null || typeof value !== 'object') return undefined;
  const password = (value as Record<string, unknown>)[member];
  return typeof password === 'string' ? password : undefined;
}
