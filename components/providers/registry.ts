/**
 * Every dynamic provider of the federation, by name: the module the provider host requires for the
 * references that resources carry (see reference.ts). Loaded in the host, never serialized.
 */
import type * as pulumi from '@pulumi/pulumi';
import { federatedTableProvider } from './federatedTable';
import { partitionProvider } from './partition';
import type { ProviderName } from './reference';
import { serverCheckProvider } from './serverCheck';
import { slotLimitsProvider } from './slotLimits';
import { subscriptionProvider } from './subscription';

export const providers: Record<ProviderName, pulumi.dynamic.ResourceProvider> = {
  federatedTable: federatedTableProvider as pulumi.dynamic.ResourceProvider,
  partition: partitionProvider as pulumi.dynamic.ResourceProvider,
  serverCheck: serverCheckProvider as pulumi.dynamic.ResourceProvider,
  slotLimits: slotLimitsProvider as pulumi.dynamic.ResourceProvider,
  subscription: subscriptionProvider as pulumi.dynamic.ResourceProvider,
};
