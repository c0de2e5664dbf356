/**
 * Every dynamic provider of the federation, by name: the module the provider host requires for the
 * references that resources carry (see reference.ts). Loaded in the host, never serialized.
 */
import type * as pulumi from '@pulumi/pulumi';
import { openEnvelope } from './envelope';
import { federatedTableProvider } from './federatedTable';
import { partitionProvider } from './partition';
import type { ProviderName } from './reference';
import { serverCheckProvider } from './serverCheck';
import { slotLimitsProvider } from './slotLimits';
import { subscriptionProvider } from './subscription';

/**
 * A provider whose `check` opens the envelope the program sends the plain inputs in (envelope.ts):
 * what it returns, flat, is what the engine records and hands to diff, create and update.
 */
function enveloped(provider: pulumi.dynamic.ResourceProvider): pulumi.dynamic.ResourceProvider {
  return {
    ...provider,
    check: async (olds, news) => {
      const opened = openEnvelope(news as Record<string, unknown>);
      return provider.check
        ? provider.check(openEnvelope(olds as Record<string, unknown>), opened)
        : { inputs: opened };
    },
  };
}

export const providers: Record<ProviderName, pulumi.dynamic.ResourceProvider> = {
  federatedTable: enveloped(federatedTableProvider as pulumi.dynamic.ResourceProvider),
  partition: enveloped(partitionProvider as pulumi.dynamic.ResourceProvider),
  serverCheck: enveloped(serverCheckProvider as pulumi.dynamic.ResourceProvider),
  slotLimits: enveloped(slotLimitsProvider as pulumi.dynamic.ResourceProvider),
  subscription: enveloped(subscriptionProvider as pulumi.dynamic.ResourceProvider),
};
