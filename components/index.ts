/**
 * pg-federation as a library: `import { Federation } from 'pg-federation'` declares a federation
 * beside a program's own resources, with the same settings as stack config (README.md, "Use it in
 * your own program"). This repository's own program (index.ts) is one user of it.
 */
export { Federation, type FederationArgs, type MemberSummary, type ParsedFederationArgs } from './federation';
export { FederationNode } from './federationNode';
export {
  type ExternalMemberSettings,
  type FederationConfig,
  type FederationSettings,
  type MemberConfig,
  type MemberPasswords,
  type MemberSettingsInput,
  type PgoMemberSettings,
  type TableSettings,
  parseFederationConfig,
  parseSettings,
} from './settings';
export { configFromStack, loadConfig } from './stackConfig';
export { ConfigError } from './config/errors';
export { type FederationPlan, type MemberPlan, plan } from './plan';
export { type ExternalMember, type MemberKind, type PgoMember, SERVER_KINDS } from './servers';
