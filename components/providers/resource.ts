/**
 * The base of our dynamic resources: a custom resource of the engine's dynamic provider
 * (`pulumi-nodejs`, the type Pulumi's `dynamic.Resource` registers), whose `__provider` input is a
 * reference to its provider, not its code (reference.ts). The inputs named secret (connection info
 * with passwords) are made secret field by field, so that in a preview a field that is not known yet
 * (a new password) leaves the others known, and listed in additionalSecretOutputs, so they stay
 * secret in outputs and state alike.
 */
import * as pulumi from '@pulumi/pulumi';
import { type ProviderName, providerReference } from './reference';

function secretFields(value: unknown): unknown {
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

/**
 * One secret form per value: a member's connection (and its conninfo) is the same object in every
 * resource that reaches the member, N² of them, so its secret fields are made once and shared.
 */
const secretForms = new WeakMap<object, unknown>();

function secretInput(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return secretFields(value);
  let form = secretForms.get(value);
  if (form === undefined) {
    form = secretFields(value);
    secretForms.set(value, form);
  }
  return form;
}

export abstract class FederationResource extends pulumi.CustomResource {
  protected constructor(
    provider: ProviderName,
    type: string,
    name: string,
    args: Record<string, unknown>,
    secretKeys: string[],
    opts?: pulumi.CustomResourceOptions,
  ) {
    const props: pulumi.Inputs = { ...args, __provider: providerReference(provider) };
    for (const key of secretKeys) if (key in args) props[key] = secretInput(args[key]);
    // The SDK's promises take the stack where they were made (the Federation leaves them unmapped,
    // promiseStacks.ts): one frame is captured while the resource registers; its source position is unaffected (the SDK takes it with a
    // limit of its own).
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 1;
    try {
      // The type token of `new pulumi.dynamic.Resource(provider, name, props, opts, 'pg-federation', type)`.
      super(`pulumi-nodejs:dynamic/pg-federation:${type}`, name, props, {
        ...opts,
        additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), ...secretKeys],
      });
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
  }
}
