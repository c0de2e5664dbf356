/**
 * The pack's rules as pure functions of what the engine shows a policy: the Federation component's
 * output `policy` (components/policyView.ts in the program), the stack's name (from a URN) and its
 * tags, and the tables whose checked inputs plan a destructive step. Each returns its violations
 * as messages, empty when the stack passes. Nothing here imports the program or @pulumi/policy: the
 * pack stays a project of its own (as `pulumi policy publish` packs it), and the tests call these.
 */

/** The view this pack reads (the program's `PolicyView`, version 1; tests/unit/policyPack.test.ts keeps the two in step). */
export interface FederationView {
  version: number;
  members: Array<{ name: string; kind: string; sslmode: string; replicationSslmode: string }>;
  retainClusters: boolean;
  partitionDeletion: string;
  allowDestructiveChanges: boolean;
  lostMembers: string[];
  lastDeployment: string;
  departures: Array<{ member: string; lost: boolean; tables: Array<{ table: string; copiesOn: string[] }> }>;
}

export const VIEW_VERSION = 1;
export const FEDERATION_TYPE = 'pg-federation:index:Federation';
export const FEDERATED_TABLE_TYPE = 'pulumi-nodejs:dynamic/pg-federation:FederatedTable';
/** The stack where TLS is not required: the embedded demo of `npm run local`. */
export const LOCAL_STACK = 'local';
const VERIFYING = ['verify-ca', 'verify-full'];

/** The stack a URN belongs to (`urn:pulumi:<stack>::<project>::<type>::<name>`). */
export function stackOfUrn(urn: string): string {
  return (urn.split('::')[0] ?? '').replace(/^urn:pulumi:/, '');
}

/** A view of the version this pack knows, or undefined (a component without one, or another version). */
export function federationView(props: Record<string, unknown>): FederationView | undefined {
  const view = props.policy as Partial<FederationView> | undefined;
  if (typeof view !== 'object' || view === null || view.version !== VIEW_VERSION) return undefined;
  return view as FederationView;
}

/** Rule 1: every member's admin and replication connections verify the server's certificate. */
export function tlsViolations(stack: string, view: FederationView): string[] {
  if (stack === LOCAL_STACK) return [];
  return view.members.flatMap((m, i) => {
    const weak = (
      [
        ['sslmode', m.sslmode],
        ['replicationSslmode', m.replicationSslmode],
      ] as const
    ).filter(([, mode]) => !VERIFYING.includes(mode));
    if (weak.length === 0) return [];
    return [
      `member "${m.name}": ${weak.map(([key, mode]) => `${key} is "${mode}"`).join(', ')}; on stack "${stack}" ` +
        "Pulumi's connections and the subscriptions must check the server's certificate (only the " +
        `"${LOCAL_STACK}" stack may go without): set ${weak.map(([key]) => `pg-federation:members[${i}].${key}`).join(' and ')} ` +
        'to verify-ca or verify-full',
    ];
  });
}

/** How a stack is marked production: a stack tag and the values that mean production. */
export interface ProductionMarker {
  tag: string;
  values: string[];
}

export const DEFAULT_PRODUCTION_MARKER: ProductionMarker = { tag: 'environment', values: ['production'] };

export function isProduction(tags: ReadonlyMap<string, string>, marker: ProductionMarker): boolean {
  const value = tags.get(marker.tag);
  return value !== undefined && marker.values.includes(value);
}

/** Rule 2: a production stack keeps every PostgresCluster of a member it removes. */
export function retainViolations(
  stack: string,
  production: boolean,
  view: FederationView,
  marker: ProductionMarker,
): string[] {
  if (!production || view.retainClusters) return [];
  return [
    `stack "${stack}" is marked production (stack tag ${marker.tag}=${marker.values.join('|')}) and ` +
      'pg-federation:retainClusters is false: removing a member would delete its PostgresCluster, and ' +
      'the data on its volumes, with it; remove the key (it defaults to true)',
  ];
}

/** Rule 3: no member leaves while a table's partition of its rows has no copy on a member that stays. */
export function soleHolderViolations(view: FederationView): string[] {
  return view.departures
    .filter((d) => !d.lost)
    .flatMap((d) =>
      d.tables
        .filter((t) => t.copiesOn.length === 0)
        .map(
          (t) =>
            `member "${d.member}" leaves the federation while it is the only holder of its rows of ${t.table}: ` +
            'no member that stays has a copy of its partition (none had finished copying it in the last ' +
            'deployment); keep it in pg-federation:members until one has (pulumi up with both), or, if its ' +
            'server is gone for good, list it in pg-federation:lostMembers',
        ),
    );
}

/**
 * Rule 4: allowDestructiveChanges is on only while a change needs it: some table's planned steps
 * (its FederatedTable's checked inputs in this run) remove something.
 */
export function staleFlagViolations(
  view: FederationView,
  destructive: ReadonlyMap<string, string[]>,
): string[] {
  if (!view.allowDestructiveChanges || destructive.size > 0) return [];
  return [
    'pg-federation:allowDestructiveChanges is true, but no table change in this run removes anything: ' +
      'the change it was for is done; set it back (pulumi config rm pg-federation:allowDestructiveChanges)',
  ];
}
