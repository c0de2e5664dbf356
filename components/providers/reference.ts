/**
 * Dynamic providers reached by reference. The engine's provider host runs a dynamic resource's
 * provider from the text in its `__provider` input (a CommonJS module whose `handler()` returns the
 * provider). Pulumi's `dynamic.Resource` makes that text by serializing the provider's closure, which
 * dragged this project's modules in by value (40–60 KB per resource, in its inputs and again in its
 * outputs, so the state grew as N² × that) and ran the closure serializer, with the V8 inspector, in
 * every program. What each resource carries instead is the module below, written here as text (about
 * 2 KB): it names the provider and the module that exports every provider (`registry.ts`), which the
 * host requires from the project (through the package's name when the federation is installed under
 * node_modules). So a stack's state stays small, and a resource's delete, read and update run the
 * code of the version deployed now, not the code its resource was created with.
 *
 * A resource whose state still holds a provider serialized by value (written before 2026-12-02)
 * reports a change in its diff, and the update that follows only records the reference: the stack
 * migrates in its next `pulumi up`, replacing nothing. A state holding the earlier reference (made by
 * the closure serializer, with the same mark) needs nothing: both reach the same registry.
 */
import * as path from 'node:path';

/** The providers `registry.ts` exports, by name. */
export type ProviderName = 'federatedTable' | 'partition' | 'serverCheck' | 'slotLimits' | 'subscription';

/** Text every reference holds, and no provider serialized by value: how a state's kind is told. */
export const REFERENCE_MARK = 'pg-federation provider reference';

/** Whether a `__provider` value from a state is a reference made here (now or by 0.1's serializer). */
export function isProviderReference(serialized: unknown): boolean {
  return typeof serialized === 'string' && serialized.includes(REFERENCE_MARK);
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

/**
 * The module text for one provider, as the host evaluates it (`require-from-string`: its `require`
 * resolves from the project folder). The project's own program runs as TypeScript, which the host
 * does not compile: `load` registers tsx (esbuild: the registry loads in about half a second, a third
 * of what ts-node takes) or, without it, ts-node, which every Pulumi TypeScript project has.
 * `migrates` is true when the old state's provider was serialized by value and its diff finds nothing
 * else: then the diff reports a change and the update keeps every output as it is (the host records
 * this text in place of the old one). A method the provider lacks does what the host does without it.
 * Plain JavaScript, tested by loading it as the host does (tests/unit/serialization.test.ts).
 */
export function referenceText(name: ProviderName, request: string): string {
  return `"use strict";
// ${REFERENCE_MARK}: the ${name} provider of ${request} (see components/providers/reference.ts)
const name = ${JSON.stringify(name)};
const request = ${JSON.stringify(request)};
const mark = ${JSON.stringify(REFERENCE_MARK)};
let loaded;
function load() {
  if (loaded) return loaded;
  const target = request.startsWith(".") ? require("node:path").resolve(request) : request;
  try {
    if (target.endsWith(".ts") && !require.extensions[".ts"]) {
      try {
        require("tsx/cjs/api").register();
      } catch {
        require("ts-node").register({ transpileOnly: true });
      }
    }
    const provider = require(target).providers[name];
    if (!provider) throw new Error(\`it exports no provider "\${name}"\`);
    return (loaded = provider);
  } catch (err) {
    throw new Error(
      \`pg-federation: no \${name} provider from \${target} (in \${process.cwd()}): \${String(err)}. \` +
        "Run pulumi in the project folder, its dependencies installed.",
    );
  }
}
async function migrates(id, olds, news) {
  const old = olds.__provider;
  if (typeof old !== "string" || old.includes(mark)) return false;
  const provider = load();
  return provider.diff ? (await provider.diff(id, olds, news)).changes === false : false;
}
exports.handler = () => ({
  configure: async (req) => (load().configure ? load().configure(req) : undefined),
  check: async (olds, news) => (load().check ? load().check(olds, news) : { inputs: news }),
  diff: async (id, olds, news) =>
    (await migrates(id, olds, news)) ? { changes: true } : load().diff ? load().diff(id, olds, news) : {},
  create: async (inputs) => load().create(inputs),
  read: async (id, props) => (load().read ? load().read(id, props) : { id, props }),
  update: async (id, olds, news) =>
    (await migrates(id, olds, news))
      ? { outs: { ...olds, __provider: undefined } }
      : load().update
        ? load().update(id, olds, news)
        : { outs: news },
  delete: async (id, props) => (load().delete ? load().delete(id, props) : undefined),
});
`;
}

const references = new Map<ProviderName, string>();

/** The reference text for one provider, made once per name: every resource of a kind shares it. */
export function providerReference(name: ProviderName): string {
  let reference = references.get(name);
  if (reference === undefined) {
    reference = referenceText(name, registryRequest());
    references.set(name, reference);
  }
  return reference;
}
