/**
 * The Pulumi SDK (runtime/debuggable.js) gives every promise it makes — four per input property of
 * every resource — the stack where it was made, read at once as `new Error().stack`, to print only
 * if the promise is still pending when the program exits and PULUMI_DEBUG_PROMISE_LEAKS is set.
 * Reading `.stack` runs `Error.prepareStackTrace`, which in a Pulumi TypeScript program is
 * source-map-support's (installed by ts-node and by the SDK's runner): it maps every frame through the
 * source maps. At 30 members (2221 resources) that mapping was about a third of the program's time
 * (bench/program.ts, 2026-12-07), for text nobody reads.
 *
 * `skipMappingPromiseStacks` wraps the installed `prepareStackTrace` once: a stack made by the SDK's
 * `debuggablePromise` keeps only its first frame, unmapped (formatting all ten frames, even unmapped,
 * was still about 7% of the profile), and every other error goes to the installed formatter as
 * before. With PULUMI_DEBUG_PROMISE_LEAKS set, when those stacks are printed, nothing is wrapped. A formatter installed later replaces the wrapper, which is
 * only a cost, never a change in what an error says.
 */
type PrepareStackTrace = (error: Error, stack: NodeJS.CallSite[]) => unknown;

let wrapped: PrepareStackTrace | undefined;
let beneath: PrepareStackTrace | undefined;

/** Whether `stack` was captured by the SDK's debuggablePromise (its first frame). */
export function madeByDebuggablePromise(stack: NodeJS.CallSite[]): boolean {
  const top = stack[0];
  if (top === undefined || top.getFunctionName() !== 'debuggablePromise') return false;
  const file = top.getFileName() ?? '';
  return /[\\/]@pulumi[\\/]pulumi[\\/]runtime[\\/]debuggable\.js$/.test(file);
}

/** The error and the SDK's own frame, unmapped: what the SDK keeps when nobody will read it. */
export function unmappedStack(error: Error, stack: NodeJS.CallSite[]): string {
  return `${String(error)}\n    at ${String(stack[0])}`;
}

export function skipMappingPromiseStacks(): void {
  if (process.env.PULUMI_DEBUG_PROMISE_LEAKS) return;
  const installed = Error.prepareStackTrace as PrepareStackTrace | undefined;
  if (installed === undefined || installed === wrapped) return;
  const wrapper: PrepareStackTrace = (error, stack) =>
    madeByDebuggablePromise(stack) ? unmappedStack(error, stack) : installed(error, stack);
  wrapped = wrapper;
  beneath = installed;
  Error.prepareStackTrace = wrapper as typeof Error.prepareStackTrace;
}

/** Puts back the formatter `skipMappingPromiseStacks` wrapped, if its wrapper is still installed. */
export function mapPromiseStacksAgain(): void {
  if (wrapped !== undefined && Error.prepareStackTrace === wrapped) {
    Error.prepareStackTrace = beneath as typeof Error.prepareStackTrace;
  }
}
