/**
 * Names the federation would give two things at once, and names PostgreSQL would truncate, as config
 * problems. Relations share one namespace per schema on every server: tables, their DEFAULT
 * partitions, every member's partitions, and the primary key index PostgreSQL names `<partition>_pkey`
 * for each. Pulumi resource names must be unique too, aliases included. Each kind adds its own rules
 * (PGO's `<cluster>-<suffix>` objects). Two members at one endpoint are one server.
 */
import {
  MAX_IDENTIFIER_BYTES,
  derivedName,
  identifierBytes,
  legacyResourceNames,
  partitionName,
  resourceNames,
  subscriptionName,
} from '../naming';
import { CONFIG_NAMESPACE } from './errors';
import type { FederationConfig, KindRegistry } from './types';

interface Claim {
  name: string;
  /** What makes the name, for the message. */
  what: string;
  /** The config key to change. */
  key: string;
}

export function nameCollisions(cfg: FederationConfig, registry: KindRegistry): string[] {
  const problems: string[] = [];
  const memberKey = (name: string): string =>
    `${CONFIG_NAMESPACE}:members[${cfg.members.findIndex((m) => m.name === name)}].name`;
  const tableKey = (i: number, key: string): string =>
    cfg.tables.length === 1 && cfg.tables[0]?.name === cfg.legacyTable && i === 0
      ? `${CONFIG_NAMESPACE}:${key === 'name' ? 'table' : key}`
      : `${CONFIG_NAMESPACE}:tables[${i}].${key}`;

  const relations: Claim[] = [];
  cfg.tables.forEach((t, i) => {
    relations.push({ name: t.name, what: `table ${t.name}`, key: tableKey(i, 'name') });
    relations.push({
      name: t.defaultPartition,
      what: `the DEFAULT partition of ${t.name}`,
      key: tableKey(i, 'defaultPartition'),
    });
    relations.push({
      name: derivedName(t.defaultPartition, 'pkey'),
      what: `the primary key PostgreSQL makes for ${t.defaultPartition}`,
      key: tableKey(i, 'defaultPartition'),
    });
    for (const m of cfg.members) {
      const partition = partitionName(t.partitionTemplate, m.name);
      const where = `the partition of member "${m.name}" in ${t.name}`;
      if (identifierBytes(partition) > MAX_IDENTIFIER_BYTES) {
        problems.push(
          `${memberKey(m.name)}: ${where} would be "${partition}", ${identifierBytes(partition)} bytes, over PostgreSQL's ` +
            `${MAX_IDENTIFIER_BYTES}; use a shorter member name or partitionTemplate`,
        );
        continue;
      }
      relations.push({ name: partition, what: `${where} ("${partition}")`, key: memberKey(m.name) });
      relations.push({
        name: derivedName(partition, 'pkey'),
        what: `the primary key PostgreSQL makes for ${partition}`,
        key: memberKey(m.name),
      });
    }
  });
  problems.push(...duplicates(relations));

  const names = cfg.members.map((m) => m.name);
  for (const s of names) {
    for (const p of names) {
      if (s === p) continue;
      const sub = subscriptionName(s, p);
      if (identifierBytes(sub) > MAX_IDENTIFIER_BYTES) {
        problems.push(
          `${CONFIG_NAMESPACE}:members: the subscription name "${sub}" (for "${s}" ← "${p}") is ${identifierBytes(sub)} bytes, ` +
            `over PostgreSQL's ${MAX_IDENTIFIER_BYTES}; keep any two member names within ${MAX_IDENTIFIER_BYTES - 5} characters together`,
        );
      }
    }
  }

  problems.push(...sameServer(cfg));

  for (const [kind, definition] of Object.entries(registry.kinds)) {
    const own = cfg.members.filter((m) => m.kind === kind);
    problems.push(...(definition.nameProblems?.(own, memberKey) ?? []));
  }

  if (problems.length === 0) problems.push(...duplicates(resourceClaims(cfg, memberKey)));
  return problems;
}

/** Every Pulumi resource name (and alias) of what lives on each member's server, each saying what it names. */
function resourceClaims(cfg: FederationConfig, memberKey: (name: string) => string): Claim[] {
  const names = cfg.members.map((m) => m.name);
  return names.flatMap((member) => {
    const legacy = (table: string) => table === cfg.legacyTable;
    const named: Array<[string, string]> = [
      ...cfg.tables.flatMap((t): Array<[string, string]> => [
        [resourceNames.table(member, t.name), `table ${t.name} on "${member}"`],
        ...(legacy(t.name)
          ? [
              [legacyResourceNames.table(member), `table ${t.name} on "${member}" (its older name)`] as [
                string,
                string,
              ],
            ]
          : []),
      ]),
      ...cfg.tables.flatMap((t) =>
        names.flatMap((owner): Array<[string, string]> => [
          [
            resourceNames.partition(member, t.name, owner),
            `the partition of "${owner}" in ${t.name} on "${member}"`,
          ],
          ...(legacy(t.name)
            ? [
                [
                  legacyResourceNames.partition(member, owner),
                  `the partition of "${owner}" in ${t.name} on "${member}" (its older name)`,
                ] as [string, string],
              ]
            : []),
        ]),
      ),
      ...cfg.tables.flatMap((t): Array<[string, string]> => [
        [resourceNames.grant(member, t.name), `the replication grant of ${t.name} on "${member}"`],
        ...(legacy(t.name)
          ? [
              [
                legacyResourceNames.grant(member),
                `the replication grant of ${t.name} on "${member}" (its older name)`,
              ] as [string, string],
            ]
          : []),
      ]),
      [resourceNames.publication(member), `the publication of "${member}"`],
      ...names
        .filter((p) => p !== member)
        .map((p): [string, string] => [
          resourceNames.subscription(member, p),
          `the subscription of "${member}" to "${p}"`,
        ]),
    ];
    return named.map(([name, what]) => ({
      name,
      what: `Pulumi resource ${name} (${what})`,
      key: memberKey(member),
    }));
  });
}

/**
 * Two members reached at one endpoint are one server, which cannot be two members: each would
 * publish and subscribe to itself (a typo in a port, most often).
 */
function sameServer(cfg: FederationConfig): string[] {
  const loopback = (host: string) =>
    ['localhost', '127.0.0.1', '::1'].includes(host.toLowerCase()) ? '127.0.0.1' : host.toLowerCase();
  const seen = new Map<string, string>();
  const problems: string[] = [];
  cfg.members.forEach((m, i) => {
    const endpoint = `${loopback(m.admin.host)}:${m.admin.port}`;
    const earlier = seen.get(endpoint);
    if (earlier === undefined) {
      seen.set(endpoint, m.name);
      return;
    }
    problems.push(
      `${CONFIG_NAMESPACE}:members[${i}].port: members "${earlier}" and "${m.name}" are both ${m.admin.host}:${m.admin.port}, ` +
        'one server; give each member its own server (port or host)',
    );
  });
  return problems;
}

function duplicates(claims: Claim[]): string[] {
  const first = new Map<string, Claim>();
  const problems: string[] = [];
  for (const claim of claims) {
    const earlier = first.get(claim.name);
    if (earlier === undefined) {
      first.set(claim.name, claim);
    } else if (earlier.what !== claim.what) {
      problems.push(
        `${claim.key}: ${claim.what} and ${earlier.what} would both be named "${claim.name}"; ` +
          `rename one (${claim.key === earlier.key ? claim.key : `${claim.key} or ${earlier.key}`})`,
      );
    }
  }
  return problems;
}
