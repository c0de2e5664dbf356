/**
 * The base of our dynamic resources: a custom resource of the engine's dynamic provider
 * (`pulumi-nodejs`, the type Pulumi's `dynamic.Resource` registers), whose `__provider` input is a
 * reference to its provider, not its code (reference.ts).
 *
 * The inputs named secret (a connection, a conninfo) stay properties of their own, secret, and are
 * listed in additionalSecretOutputs, so they stay secret in outputs and state alike. A connection is
 * an object whose password (and any field that is an output, whose content the program does not
 * know) is secret: in a preview a password not known yet leaves the other fields known, and the
 * fields that are plain text (host, port, user, database, sslmode, a CA read from a file) cost the SDK
 * nothing to send. The other inputs that are or hold an output keep a property of their own too;
 * the rest, plain values, travel in one (envelope.ts).
 */
import * as pulumi from '@pulumi/pulumi';
import { PLAIN_KEY } from './envelope';
import { type ProviderName, providerReference } from './reference';

/** A field of a connection the state must hold encrypted. */
function secretField(key: string, field: unknown): boolean {
  return key === 'password' || pulumi.Output.isInstance(field) || field instanceof Promise;
}

function secretFields(value: unknown): unknown {
  if (
    typeof value === 'object' &&
    value !== null &&
    !pulumi.Output.isInstance(value) &&
    !Array.isArray(value)
  ) {
    return Object.fromEntries(
      Object.entries(value).map(([key, field]) => [
        key,
        secretField(key, field) ? pulumi.secret(field) : field,
      ]),
    );
  }
  return pulumi.secret(value);
}

/** Whether a value is, or holds anywhere inside it, an output or a promise (then it is not plain). */
function holdsOutput(value: unknown): boolean {
  if (pulumi.Output.isInstance(value) || value instanceof Promise) return true;
  if (Array.isArray(value)) return value.some(holdsOutput);
  if (typeof value === 'object' && value !== null) return Object.values(value).some(holdsOutput);
  return false;
}

/**
 * The properties a resource registers: its provider's reference, each secret input (made secret),
 * each input that is undefined (an output it declares) or holds an output, and the plain rest in
 * one envelope.
 */
export function registeredProps(
  provider: ProviderName,
  args: Record<string, unknown>,
  secretKeys: string[],
): pulumi.Inputs {
  const props: pulumi.Inputs = { __provider: providerReference(provider) };
  const plain: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(args)) {
    if (secretKeys.includes(key)) props[key] = secretInput(value);
    else if (value === undefined || holdsOutput(value)) props[key] = value;
    else plain[key] = value;
  }
  if (Object.keys(plain).length > 0) props[PLAIN_KEY] = plain;
  return props;
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
    const props = registeredProps(provider, args, secretKeys);
    // The SDK's promises take the stack where they were made (the Federation leaves them unmapped,
    // promiseStacks.ts): one frame is captured while the resource registers; its source position is
    // unaffected (the SDK takes it with a limit of its own).
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
