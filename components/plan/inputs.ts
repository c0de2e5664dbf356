/**
 * A record's inputs completed with what is live (each member's admin connection, the conninfo its
 * peers' servers reach it with): the one mapping from the plan to the dynamic providers' inputs,
 * used by the components (with Pulumi inputs) and by the engine-less driver (with plain values).
 */
import type { PartitionRecord, SubscriptionRecord, TableRecord } from './records';

export interface Live<Connection, Conninfo, Failover = boolean> {
  /** Pulumi's admin connection to a member. */
  connection(member: string): Connection;
  /** The conninfo another member's server uses to reach this member as the replication role. */
  conninfo(member: string): Conninfo;
  /** Whether both servers run PostgreSQL 17 or newer (failover slots). */
  both17(subscriber: string, publisher: string): Failover;
}

export function tableInputs<C, S, F>(t: TableRecord, live: Live<C, S, F>) {
  return {
    ...t.inputs,
    connection: live.connection(t.inputs.member),
    peers: t.peers.map((member) => ({ member, connection: live.connection(member) })),
  };
}

export function partitionInputs<C, S, F>(p: PartitionRecord, live: Live<C, S, F>) {
  return {
    ...p.inputs,
    connection: live.connection(p.inputs.member),
    ...(p.publisher !== undefined ? { publisherConnection: live.connection(p.publisher) } : {}),
    ...(p.restoreFrom.length > 0
      ? {
          restoreFrom: p.restoreFrom.map((member) => ({
            member,
            connection: live.connection(member),
            conninfo: live.conninfo(member),
          })),
        }
      : {}),
  };
}

export function subscriptionInputs<C, S, F>(s: SubscriptionRecord, live: Live<C, S, F>) {
  return {
    ...s.inputs,
    connection: live.connection(s.inputs.subscriber),
    publisherConnection: live.connection(s.inputs.publisher),
    conninfo: live.conninfo(s.inputs.publisher),
    failover: s.failoverWhen17 ? live.both17(s.inputs.subscriber, s.inputs.publisher) : false,
  };
}
