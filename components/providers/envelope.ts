/**
 * How a dynamic resource's inputs travel from the program to its provider's `check`.
 *
 * The SDK pays for every top-level input property of every resource: four promises and an output
 * each, whatever the value (`transferProperties` in `@pulumi/pulumi/runtime/rpc.js`). A subscription
 * has about fourteen, and a mesh has N² subscriptions and landings: at 30 members that was 25,710
 * properties and two thirds of the promises the program made (bench/program.ts, 2026-12-07). So the
 * program sends the inputs that are plain values (known now, never secret: names, flags, columns) as
 * one property, `__plain`, and only what is or holds an output (a connection with its secret password,
 * a conninfo, a value another resource decides) as properties of their own, where the engine tracks
 * each one's secrecy and unknowns.
 *
 * `check` opens the envelope (registry.ts), so the inputs the engine records — and diffs, shows in a
 * preview, hands to policies, keeps in the state — are the flat inputs they always were: a stack made
 * before this previews no change. Secret values never travel in the envelope: the engine marks a
 * checked input secret by its key in what the program sent (`annotateSecrets` in
 * `sdk/go/common/resource/plugin/provider_plugin.go`), which only works for keys that stay where
 * they were.
 *
 * Loaded by the program and by the provider host: it imports nothing.
 */

/** The input property that carries a dynamic resource's plain inputs. */
export const PLAIN_KEY = '__plain';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The inputs with the envelope opened: its fields beside the others, as the provider declares them.
 * Inputs without one (a stack's recorded inputs, the engine-less driver's) are returned as they are.
 */
export function openEnvelope<T extends Record<string, unknown>>(inputs: T): T {
  const plain = inputs[PLAIN_KEY];
  if (!isPlainObject(plain)) return inputs;
  const opened: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(inputs)) if (key !== PLAIN_KEY) opened[key] = value;
  for (const [key, value] of Object.entries(plain)) {
    if (key in opened) throw new Error(`input ${key} is sent twice: in ${PLAIN_KEY} and on its own`);
    opened[key] = value;
  }
  return opened as T;
}
