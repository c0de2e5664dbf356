/**
 * The member kinds. A new kind is one module implementing `ServerKind` (see kind.ts), listed in
 * SERVER_KINDS and in the three unions below; config takes its keys and defaults from it.
 */
import type { KindRegistry } from '../config/types';
import { type ExternalMember, type ExternalServerPlan, externalKind } from './external';
import type { ProvisionArgs, ProvisionedServer, ServerContext } from './kind';
import { type PgoMember, type PgoServerPlan, pgoKind } from './pgo';

export const SERVER_KINDS = { pgo: pgoKind, external: externalKind };
export type MemberKind = keyof typeof SERVER_KINDS;

/** What config parsing needs of the kinds: their keys and defaults; a member without `kind` is PGO. */
export const KIND_REGISTRY: KindRegistry = { kinds: SERVER_KINDS, defaultKind: 'pgo' };

/** A member, as its kind resolved it. */
export type MemberConfig = PgoMember | ExternalMember;

/** The inputs of a member's server resources, by kind. */
export type ServerPlan = PgoServerPlan | ExternalServerPlan;

export function planServer(member: MemberConfig, context: ServerContext): ServerPlan {
  switch (member.kind) {
    case 'pgo':
      return pgoKind.planServer(member, context);
    case 'external':
      return externalKind.planServer(member, context);
  }
}

export function provisionServer(name: string, plan: ServerPlan, args: ProvisionArgs): ProvisionedServer {
  switch (plan.kind) {
    case 'pgo':
      return pgoKind.provision(name, plan, args);
    case 'external':
      return externalKind.provision(name, plan, args);
  }
}

export type { ProvisionArgs, ProvisionedServer, ServerContext, ServerKind } from './kind';
export type { ExternalMember } from './external';
export type { PgoMember } from './pgo';
export { externalFields } from './external';
export { pgoFields } from './pgo';
