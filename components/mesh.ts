/**
 * What joins two members: every member's partition of every other member's rows (a landing, on the
 * holder's server) and the subscriptions between every ordered pair, from the plan, as children of
 * the subscriber's node.
 */
import type { FederationNode } from './federationNode';
import { declarePartition, liveValues } from './memberData';
import { subscriptionInputs } from './plan/inputs';
import type { FederationPlan } from './plan';
import type { Partition } from './providers/partition';
import { Subscription } from './providers/subscription';
import type { ResourceRegistry } from './resourceRegistry';

export interface Mesh {
  /** Landing partitions by resource name (`<member>-partition-<table>-<owner>`). */
  landings: Map<string, Partition>;
  /** Subscriptions by resource name (`<subscriber>-sub-<publisher>`). */
  subscriptions: Map<string, Subscription>;
}

export function declareMesh(
  p: FederationPlan,
  nodes: Map<string, FederationNode>,
  registry: ResourceRegistry,
): Mesh {
  const node = (name: string): FederationNode => {
    const found = nodes.get(name);
    if (found === undefined) throw new Error(`no member named ${name}`);
    return found;
  };
  const live = liveValues(nodes);
  const landings = new Map<string, Partition>();
  for (const mp of p.members) {
    for (const l of mp.landings) {
      landings.set(l.resourceName, declarePartition(node(mp.member.name), l, live, registry));
    }
  }
  const subscriptions = new Map<string, Subscription>();
  for (const s of p.subscriptions) {
    const subscriber = node(s.inputs.subscriber);
    subscriptions.set(
      s.resourceName,
      registry.add(
        s.resourceName,
        new Subscription(s.resourceName, subscriptionInputs(s, live), {
          parent: subscriber,
          dependsOn: registry.resolve(s.dependsOn),
          replacementTrigger: s.replacementTrigger,
          deleteBeforeReplace: true,
        }),
      ),
    );
  }
  return { landings, subscriptions };
}
