/**
 * Parse, default and validate raw stack config: a pure function over the raw values, given the member
 * kinds (components/servers/index.ts binds them: components/stackConfig.ts). Every problem is
 * reported at once, each naming the config key and the fix, while the program runs, so
 * `pulumi preview` fails before anything is touched.
 */
import { z } from 'zod';
import {
  DNS_1035_LABEL,
  MAX_IDENTIFIER_BYTES,
  identifierBytes,
  isSqlName,
  publicationName,
  suggestMemberName,
} from '../naming';
import { nameCollisions } from './collisions';
import { CONFIG_NAMESPACE, ConfigError, zodProblems } from './errors';
import { type StackSettings, commonMemberFields, topSchema } from './schema';
import { type TableSpec, SEED_TABLE, tableSpecSchema, validateTable } from './tables';
import type { FederationConfig, KindRegistry, MemberBase, MemberSettings } from './types';

/** Every member key: the common ones and each kind's own (a member may hold only its kind's). */
function memberSchema(registry: KindRegistry) {
  const kindNames = Object.keys(registry.kinds) as [string, ...string[]];
  const own = Object.values(registry.kinds).reduce<z.ZodRawShape>(
    (shape, kind) => ({ ...shape, ...kind.fields.shape }),
    {},
  );
  const { name, ...endpoint } = commonMemberFields;
  return z.strictObject({
    name,
    /** Each kind is a module of components/servers/. */
    kind: z.enum(kindNames).default(registry.defaultKind),
    ...endpoint,
    ...own,
  });
}

/** Parse, default and validate raw stack config. Throws `ConfigError` listing every problem. */
export function parseConfigWith<M extends MemberBase>(
  raw: Record<string, unknown>,
  registry: KindRegistry,
): FederationConfig<M> {
  const problems: string[] = [];
  const top = topSchema.safeParse(raw);
  if (!top.success) problems.push(...zodProblems(top.error));
  // Each member and table is parsed on its own, so a bad one does not hide the others' problems.
  const schema = memberSchema(registry);
  const rawMembers = Array.isArray(raw.members) ? raw.members : [];
  const members = rawMembers.flatMap((m, i) => {
    const parsed = schema.safeParse(m);
    if (!parsed.success) {
      problems.push(...zodProblems(parsed.error, `members[${i}]`));
      return [];
    }
    return [{ index: i, member: parsed.data as MemberSettings }];
  });
  const cfg = top.success ? top.data : topSchema.parse(topDefaults(raw));

  if (!isSqlName(cfg.replicationUser)) {
    problems.push(
      `${CONFIG_NAMESPACE}:replicationUser: "${cfg.replicationUser}" must be a lowercase SQL name (letters, digits, '_', at most ${MAX_IDENTIFIER_BYTES} bytes)`,
    );
  }
  if (rawMembers.length > cfg.maxMembers) {
    problems.push(
      `${CONFIG_NAMESPACE}:maxMembers: ${rawMembers.length} members are listed but maxMembers is ${cfg.maxMembers}; ` +
        `raise maxMembers (this resizes replication settings and restarts every member's server) or list fewer members`,
    );
  }

  const tables = parseTables(raw, cfg, problems);

  const seen = new Map<string, number>();
  const accepted: MemberSettings[] = [];
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
    accepted.push(m);
    const kind = registry.kinds[m.kind];
    if (kind === undefined) continue; // the schema allows only listed kinds
    for (const problem of kind.validate(m, cfg)) {
      problems.push(`${CONFIG_NAMESPACE}:members[${index}].${problem}`);
    }
    const foreign = Object.entries(registry.kinds)
      .filter(([name]) => name !== m.kind)
      .flatMap(([, other]) => Object.keys(other.fields.shape))
      .filter((key, i, all) => all.indexOf(key) === i && !(key in kind.fields.shape) && m[key] !== undefined);
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
  if (cfg.prometheusRule && !cfg.monitoring) {
    problems.push(
      `${CONFIG_NAMESPACE}:prometheusRule: the alert rules read the metrics of PGO's exporter, which monitoring turns on; ` +
        `set monitoring: true, or prometheusRule: false`,
    );
  }
  for (const name of cfg.lostMembers) {
    if (seen.has(name)) {
      problems.push(
        `${CONFIG_NAMESPACE}:lostMembers: "${name}" is still listed in members; a lost member is one removed from members whose server is gone for good`,
      );
    }
  }

  if (problems.length === 0) {
    const config: FederationConfig<M> = {
      members: accepted.map((m) => registry.kinds[m.kind]?.resolve(m, cfg) as M),
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
      prometheusRule: cfg.prometheusRule,
      retainClusters: cfg.retainClusters,
      lostMembers: cfg.lostMembers,
      allowDestructiveChanges: cfg.allowDestructiveChanges,
      idleReplicationSlotTimeout: cfg.idleReplicationSlotTimeout,
      applySynchronousCommit: cfg.applySynchronousCommit,
    };
    problems.push(...nameCollisions(config, registry));
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

function parseTables(raw: Record<string, unknown>, cfg: StackSettings, problems: string[]): TableSpec[] {
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
