/**
 * A member's data, declared from its plan once every member's node exists (its own partition may be
 * restored from its peers' copies): its federated tables, its own partition of each, its publication
 * of them and the replication role's grants. Children of the member's node.
 */
import * as postgresql from '@pulumi/postgresql';
import * as pulumi from '@pulumi/pulumi';
import type { FederationNode } from './federationNode';
import type { PartitionRecord } from './plan';
import { type Live, partitionInputs, tableInputs } from './plan/inputs';
import type { ConnectionArgs } from './providers/connection';
import { FederatedTable } from './providers/federatedTable';
import { Partition } from './providers/partition';
import type { ResourceRegistry } from './resourceRegistry';

export interface MemberData {
  /** By table name. */
  tables: Map<string, FederatedTable>;
  /** Its own partition of each table, by table name. */
  ownPartitions: Map<string, Partition>;
  publication: postgresql.Publication;
  /** SELECT on its own partition of each table, by table name. */
  grants: Map<string, postgresql.Grant>;
}

/** What the plan's records need that only the nodes have: each member's connections. */
export function liveValues(
  nodes: Map<string, FederationNode>,
): Live<ConnectionArgs, pulumi.Output<string>, pulumi.Output<boolean>> {
  const node = (name: string): FederationNode => {
    const found = nodes.get(name);
    if (found === undefined) throw new Error(`no member named ${name}`);
    return found;
  };
  return {
    connection: (name) => node(name).connectionArgs,
    conninfo: (name) => node(name).replicationConninfo,
    both17: (subscriber, publisher) =>
      pulumi
        .all([node(subscriber).server.major, node(publisher).server.major])
        .apply(([a, b]) => a >= 17 && b >= 17),
  };
}

/** A partition on `node`'s server, its own or a landing. */
export function declarePartition(
  node: FederationNode,
  record: PartitionRecord,
  live: Live<ConnectionArgs, pulumi.Output<string>, pulumi.Output<boolean>>,
  registry: ResourceRegistry,
): Partition {
  return registry.add(
    record.resourceName,
    new Partition(record.resourceName, partitionInputs(record, live), {
      parent: node,
      replacementTrigger: record.replacementTrigger,
      // Off the old server before it is made on the new one (the name is the same on both).
      deleteBeforeReplace: true,
      dependsOn: registry.resolve(record.dependsOn),
      aliases: record.aliases.map((alias) => ({ name: alias })),
    }),
  );
}

export function declareMemberData(
  node: FederationNode,
  live: Live<ConnectionArgs, pulumi.Output<string>, pulumi.Output<boolean>>,
  registry: ResourceRegistry,
): MemberData {
  const { plan } = node;

  // The federated tables: their SQL checks get_node_name() against the member name.
  const tables = new Map(
    plan.tables.map((t) => [
      t.inputs.table,
      registry.add(
        t.resourceName,
        new FederatedTable(t.resourceName, tableInputs(t, live), {
          parent: node,
          replacementTrigger: t.replacementTrigger,
          dependsOn: registry.resolve(t.dependsOn),
          aliases: t.aliases.map((alias) => ({ name: alias })),
        }),
      ),
    ]),
  );

  // Its own partitions: restored from the most advanced peer copy when the server lost them.
  const ownPartitions = new Map(
    plan.ownPartitions.map((p) => [p.inputs.table, declarePartition(node, p, live, registry)]),
  );

  const publication = registry.add(
    plan.publication.resourceName,
    new postgresql.Publication(plan.publication.resourceName, plan.publication.inputs, {
      ...node.onServer(plan.publication),
      dependsOn: registry.resolve(plan.publication.dependsOn),
      ignoreChanges: plan.publication.ignoreChanges,
    }),
  );

  const grants = new Map(
    plan.grants.map((g) => [
      g.table,
      registry.add(
        g.resourceName,
        new postgresql.Grant(g.resourceName, g.inputs, {
          ...node.onServer(g),
          dependsOn: registry.resolve(g.dependsOn),
        }),
      ),
    ]),
  );
  return { tables, ownPartitions, publication, grants };
}

/** Every resource of a member's data. */
export function dataResources(data: MemberData): pulumi.Resource[] {
  return [...data.tables.values(), ...data.ownPartitions.values(), data.publication, ...data.grants.values()];
}
