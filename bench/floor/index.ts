/**
 * The engine's floor for `npm run bench` (bench/engine.ts): `pg-federation-floor:count` dynamic
 * resources whose provider does nothing, each with a few inputs, so a run of this program is what the
 * engine, the language host and the dynamic-provider host cost for that many resources.
 */
import * as pulumi from '@pulumi/pulumi';

const count = new pulumi.Config().requireNumber('count');

const noop: pulumi.dynamic.ResourceProvider = {
  async create(inputs) {
    return { id: `noop-${String(inputs.index)}`, outs: inputs };
  },
  async diff() {
    return { changes: false };
  },
};

class Noop extends pulumi.dynamic.Resource {
  constructor(name: string, props: Record<string, unknown>) {
    super(noop, name, props);
  }
}

for (let index = 0; index < count; index++)
  new Noop(`noop-${index}`, { index, member: `hippo-${index % 10}` });
