/**
 * Dynamic providers reached by reference. Pulumi serializes a dynamic resource's provider object
 * into its `__provider` input, and the engine's provider host evaluates that text to run it: an
 * object whose methods reach this project's modules drags them in by value (40–60 KB per resource,
 * in its inputs and again in its outputs, so the state grew as N² × that). What is serialized here
 * instead is a stub of about 4 KB: it names the provider and the module that exports every provider
 * (`registry.ts`), and the host requires that module from the project (through the package's name
 * when the federation is installed under node_modules). So a stack's state stays small, and a
 * resource's delete, read and update run the code of the version deployed now, not the code its
 * resource was created with.
 *
 * A resource whose state still holds a provider serialized by value (written by an earlier version)
 * reports a change in its diff, and the update that follows only records the reference: the stack
 * migrates in its next `pulumi up`, replacing nothing.
 */
import * as path from 'node:path';
import type * as pulumi from '@pulumi/pulumi';

/** The providers `registry.ts` exports, by name. */
export type ProviderName = 'federatedTable' | 'partition' | 'serverCheck' | 'slotLimits' | 'subscription';

/** Text every reference holds, and no provider serialized by value: how a state's kind is told. */
const MARK = 'pg-federation provider reference';
export const REFERENCE_MARK = MARK;

/** Whether a `__provider` value from a state is a reference made here. */
export function isProviderReference(serialized: unknown): boolean {
  return typeof serialized === 'string' && serialized.includes(MARK);
}

/**
 * How the provider host reaches `registry`: under node_modules by the package path (the host
 * resolves it from the project's node_modules), else by its path from the project folder (the
 * program's working directory, which is the host's too).
 */
export function registryRequest(
  file = path.join(__dirname, `registry${path.extname(__filename)}`),
  cwd = process.cwd(),
): string {
  const parts = file.split(path.sep);
  const modules = parts.lastIndexOf('node_modules');
  if (modules >= 0) return parts.slice(modules + 1).join('/');
  const relative = path.relative(cwd, file).split(path.sep).join('/');
  return relative.startsWith('.') ? relative : `./${relative}`;
}

type AnyProvider = pulumi.dynamic.ResourceProvider;
type Outputs = Record<string, unknown>;

/**
 * The stub serialized for one provider. Everything it uses is in this function's scope (the
 * serializer captures it by value, so its body is kept short and without comments): the provider's
 * name, the request, and `require`, which in the host is the evaluated text's own, resolving from
 * the project folder. The project's own program runs as TypeScript, which the host does not
 * compile: `load` registers tsx (esbuild: the registry loads in about half a second, a third of what
 * ts-node takes) or, without it, ts-node, which every Pulumi TypeScript project has. `migrates` is
 * true when the old state's provider was serialized by value and its diff finds nothing else: then
 * the diff reports a change and the update keeps every output as it is (the host records the
 * reference in place of the old text). A method the provider lacks does what the host does without it.
 */
export function referenceTo(name: ProviderName, request: string): AnyProvider {
  const mark = MARK;
  const loaded: { provider?: AnyProvider } = {};
  function load(): AnyProvider {
    if (loaded.provider) return loaded.provider;
    const target = request.startsWith('.') ? (require('node:path') as typeof path).resolve(request) : request;
    try {
      if (target.endsWith('.ts') && !require.extensions['.ts'])
        try {
          (require('tsx/cjs/api') as { register(): void }).register();
        } catch {
          (require('ts-node') as { register(o: object): void }).register({ transpileOnly: true });
        }
      const provider = (require(target) as { providers: Record<string, AnyProvider> }).providers[name];
      if (!provider) throw new Error(`it exports no provider "${name}"`);
      return (loaded.provider = provider);
    } catch (err) {
      throw new Error(
        `pg-federation: no ${name} provider from ${target} (in ${process.cwd()}): ${String(err)}. ` +
          'Run pulumi in the project folder, its dependencies installed.',
      );
    }
  }
  async function migrates(id: string, olds: Outputs, news: Outputs): Promise<boolean> {
    const old = olds.__provider;
    if (typeof old !== 'string' || old.includes(mark)) return false;
    return (await load().diff?.(id, olds, news))?.changes === false;
  }
  return {
    configure: async (req) => load().configure?.(req),
    check: async (olds, news) => load().check?.(olds, news) ?? { inputs: news },
    diff: async (id, olds: Outputs, news: Outputs) =>
      (await migrates(id, olds, news)) ? { changes: true } : (load().diff?.(id, olds, news) ?? {}),
    create: async (inputs) => load().create(inputs),
    read: async (id, props) => load().read?.(id, props) ?? { id, props },
    update: async (id, olds: Outputs, news: Outputs) =>
      (await migrates(id, olds, news))
        ? { outs: { ...olds, __provider: undefined } }
        : (load().update?.(id, olds, news) ?? { outs: news }),
    delete: async (id, props) => load().delete?.(id, props),
  };
}

const references = new Map<ProviderName, AnyProvider>();

/**
 * The reference for one provider, one object per name: Pulumi caches a provider's serialized text
 * by object, so every resource of a kind shares one serialization.
 */
export function providerReference(name: ProviderName): AnyProvider {
  let reference = references.get(name);
  if (reference === undefined) {
    reference = referenceTo(name, registryRequest());
    references.set(name, reference);
  }
  return reference;
}
