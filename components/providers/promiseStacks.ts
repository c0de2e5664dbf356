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
 * before. With PULUMI_DEBUG_PROMISE_LEAKS set, when those stacks are printed, nothing is wrapped.
 * A formatter installed later replaces the wrapper, which is only a cost, never a change in what an
 * error says.
 *
 * The wrapper also serves the stack the SDK reads once per resource for its source position
 * (`Resource.callsites` in `@pulumi/pulumi/resource.js`: every frame, mapped, parsed for file, line
 * and column). The same few hundred call sites recur in every one of a mesh's thousands of stacks,
 * so each frame is mapped by the installed formatter once and its text reused: the positions the
 * SDK parses are the ones it parsed before (tested), at a map lookup a frame.
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

/** Whether `stack` was captured by the SDK's `Resource.callsites` (its first frame). */
export function madeByResourceCallsites(stack: NodeJS.CallSite[]): boolean {
  const top = stack[0];
  if (top === undefined || top.getFunctionName() !== 'callsites') return false;
  return /[\\/]@pulumi[\\/]pulumi[\\/]resource\.js$/.test(top.getFileName() ?? '');
}

/** Each frame's text as the installed formatter writes it, by the frame's position and function. */
const mappedFrames = new Map<string, string>();

/**
 * The stack as `installed` formats it, each frame formatted once for all the stacks it is in: the
 * positions are exact; a frame's name is the one its first stack gave it (the SDK reads no name).
 */
export function memoizedStack(error: Error, stack: NodeJS.CallSite[], installed: PrepareStackTrace): string {
  let text = String(error);
  for (const frame of stack) {
    const key = `${frame.getFileName() ?? ''}:${frame.getLineNumber() ?? ''}:${frame.getColumnNumber() ?? ''}:${frame.getFunctionName() ?? ''}`;
    let line = mappedFrames.get(key);
    if (line === undefined) {
      const alone = String(installed(error, [frame]));
      line = alone.slice(alone.indexOf('\n') + 1);
      mappedFrames.set(key, line);
    }
    text += `\n${line}`;
  }
  return text;
}

export function skipMappingPromiseStacks(): void {
  if (process.env.PULUMI_DEBUG_PROMISE_LEAKS) return;
  const installed = Error.prepareStackTrace as PrepareStackTrace | undefined;
  if (installed === undefined || installed === wrapped) return;
  const wrapper: PrepareStackTrace = (error, stack) =>
    madeByDebuggablePromise(stack)
      ? unmappedStack(error, stack)
      : madeByResourceCallsites(stack)
        ? memoizedStack(error, stack, installed)
        : installed(error, stack);
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
