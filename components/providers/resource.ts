/**
 * The base of our dynamic resources: the inputs named secret (connection info with passwords) are
 * wrapped as secrets and listed in additionalSecretOutputs, so they stay secret in inputs, outputs
 * and state alike. Provider objects never reference this class, so it is not serialized with them.
 */
import * as pulumi from '@pulumi/pulumi';

export abstract class FederationResource extends pulumi.dynamic.Resource {
  protected constructor(
    provider: pulumi.dynamic.ResourceProvider,
    type: string,
    name: string,
    args: Record<string, unknown>,
    secretKeys: string[],
    opts?: pulumi.CustomResourceOptions,
  ) {
    const props: pulumi.Inputs = { ...args };
    for (const key of secretKeys) props[key] = pulumi.secret(args[key]);
    super(
      provider,
      name,
      props,
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), ...secretKeys] },
      'pg-federation',
      type,
    );
  }
}
