/**
 * The member kinds. A new kind is one module implementing `ServerKind` (see kind.ts), listed here;
 * the config schema takes its name from this list.
 */
import { externalKind } from './external';
import type { ServerKind } from './kind';
import { pgoKind } from './pgo';

export const SERVER_KINDS = { pgo: pgoKind, external: externalKind } satisfies Record<string, ServerKind>;
export type MemberKind = keyof typeof SERVER_KINDS;
export const MEMBER_KINDS = Object.keys(SERVER_KINDS) as [MemberKind, ...MemberKind[]];

export type { ProvisionArgs, ProvisionedServer, ServerKind } from './kind';
export { KIND_KEYS } from './kind';
