/**
 * The resources the Federation has declared, by their plan names, so that a record's `dependsOn`
 * (names, decided by the plan) becomes the resources it names.
 */
import type * as pulumi from '@pulumi/pulumi';

export class ResourceRegistry {
  private readonly byName = new Map<string, pulumi.Resource>();

  add<R extends pulumi.Resource>(name: string, resource: R): R {
    if (this.byName.has(name)) throw new Error(`resource ${name} is declared twice`);
    this.byName.set(name, resource);
    return resource;
  }

  /** The resources these names stand for: each must have been declared before. */
  resolve(names: string[]): pulumi.Resource[] {
    return names.map((name) => {
      const resource = this.byName.get(name);
      if (resource === undefined)
        throw new Error(`resource ${name} is named as a dependency before it is declared`);
      return resource;
    });
  }

  all(): pulumi.Resource[] {
    return [...this.byName.values()];
  }
}
