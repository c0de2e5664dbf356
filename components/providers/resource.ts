/**
 * The base of our dynamic resources. The inputs named secret (connection info with passwords) are
 * made secret field by field, so that in a preview a field that is not known yet (a new password)
 * leaves the others known, and listed in additionalSecretOutputs, so they stay secret in outputs and
 * state alike. Each resource carries a reference to its provider (reference.ts), not its code.
 */
import * as pulumi from '@pulumi/pulumi';
import { type ProviderName, providerReference } from './reference';

function secretInput(value: unknown): unknown {
  if (
    typeof value === 'object' &&
    value !== null &&
    !pulumi.Output.isInstance(value) &&
    !Array.isArray(value)
  ) {
    return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, pulumi.secret(field)]));
  }
  return pulumi.secret(value);
}

export abstract class FederationResource extends pulumi.dynamic.Resource {
  protected constructor(
    provider: ProviderName,
    type: string,
    name: string,
    args: Record<string, unknown>,
    secretKeys: string[],
    opts?: pulumi.CustomResourceOptions,
  ) {
    const props: pulumi.Inputs = { ...args };
    for (const key of secretKeys) if (key in args) props[key] = secretInput(args[key]);
    // The SDK gives each input property four promises, each with the stack where it was made (printed
    // only if the promise is still pending when the program exits), and under Pulumi's source maps
    // every frame of those costs a lookup: with the default 10 frames that was most of the
    // program's time (bench/program.ts). One frame is kept while it registers; the resource's source
    // position is unaffected (the SDK takes it with a limit of its own).
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 1;
    try {
      super(
        providerReference(provider),
        name,
        props,
        { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), ...secretKeys] },
        'pg-federation',
        type,
      );
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
  }
}
