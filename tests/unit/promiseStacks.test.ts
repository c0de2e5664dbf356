/**
 * The SDK's promise stacks stay unmapped (components/providers/promiseStacks.ts), and nothing else
 * changes: under ts-node (as Pulumi runs a TypeScript program, and as these tests run) every other
 * error's stack is still mapped to the TypeScript source.
 */
import { strict as assert } from 'node:assert';
import * as pulumi from '@pulumi/pulumi';
import { mapPromiseStacksAgain, skipMappingPromiseStacks } from '../../components/providers/promiseStacks';

// The SDK's own function (internal: not in its type declarations).
const { debuggablePromise } = require('@pulumi/pulumi/runtime/debuggable') as {
  debuggablePromise(p: Promise<unknown>, ctx: string): Promise<unknown>;
};

/** The stack the SDK keeps on a promise it makes (`_debugStackTrace`, read at once). */
function sdkStack(): string {
  const p = Promise.resolve(1);
  void debuggablePromise(p, 'test');
  return (p as unknown as { _debugStackTrace: string })._debugStackTrace;
}

interface Position {
  file?: string;
  line?: number;
  column?: number;
}

/** The positions the SDK reads for a resource's source position (private in its declarations). */
function resourceCallsites(): Position[] {
  return (pulumi.Resource as unknown as { callsites(): Position[] }).callsites();
}

function ownStack(): string {
  return new Error('ours').stack ?? '';
}

describe('the SDK promise stacks', function () {
  // Other suites' programs (a Federation) installed the wrapper before: start from what it wraps.
  let installed: typeof Error.prepareStackTrace;
  before(() => {
    mapPromiseStacksAgain();
    installed = Error.prepareStackTrace;
  });
  afterEach(() => {
    mapPromiseStacksAgain();
    delete process.env.PULUMI_DEBUG_PROMISE_LEAKS;
  });
  after(() => skipMappingPromiseStacks());

  it('ts-node maps stacks here (what the wrapper saves)', function () {
    assert.equal(typeof installed, 'function', 'source-map-support is installed');
    // Mapped: the TypeScript file, not compiled JavaScript; the SDK's own frames are many.
    assert.match(ownStack(), /promiseStacks\.test\.ts:\d+:\d+/);
    assert.ok(sdkStack().split('\n').length > 3);
  });

  it("keeps the SDK's frame alone, unmapped, and maps every other error as before", function () {
    skipMappingPromiseStacks();
    assert.notEqual(Error.prepareStackTrace, installed);
    const lines = sdkStack().split('\n');
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.equal(lines[0], 'Error');
    assert.match(
      String(lines[1]),
      /at debuggablePromise \(.*[\\/]@pulumi[\\/]pulumi[\\/]runtime[\\/]debuggable\.js:\d+:\d+\)$/,
    );
    assert.match(ownStack(), /^Error: ours\n\s+at ownStack \(.*promiseStacks\.test\.ts:\d+:\d+\)/);
    // Installing twice wraps once; undone, stacks are mapped again.
    const wrapper = Error.prepareStackTrace;
    skipMappingPromiseStacks();
    assert.equal(Error.prepareStackTrace, wrapper);
    mapPromiseStacksAgain();
    assert.equal(Error.prepareStackTrace, installed);
    assert.ok(sdkStack().split('\n').length > 3);
  });

  it('gives the SDK the same source positions, mapped to the TypeScript, formatting each frame once', function () {
    // The formatter the wrapper wraps, counting the frames it is given.
    let frames = 0;
    const counting = (error: Error, stack: NodeJS.CallSite[]): unknown => {
      frames += stack.length;
      return installed?.(error, stack);
    };
    Error.prepareStackTrace = counting;
    const seen: Position[][] = [];
    const formatted: number[] = [];
    try {
      for (const wrapped of [false, true, true]) {
        if (wrapped) skipMappingPromiseStacks();
        frames = 0;
        seen.push(resourceCallsites()); // one line: the same stack each time
        formatted.push(frames);
      }
    } finally {
      mapPromiseStacksAgain();
      Error.prepareStackTrace = installed;
    }
    const [plain, first, again] = seen;
    // Frames formatted: all at once; then each alone (fewer if other suites' stacks shared some); then none.
    assert.equal(formatted[0], plain?.length);
    assert.ok((formatted[1] ?? 0) <= (plain?.length ?? 0));
    assert.equal(formatted[2], 0, 'the second time, every frame from the memo');
    assert.ok((plain?.length ?? 0) > 5, 'a deep stack');
    assert.match(String(plain?.[1]?.file), /promiseStacks\.test\.ts$/, 'mapped to this TypeScript file');
    assert.deepEqual(first, plain, 'the same file, line and column for every frame');
    assert.deepEqual(again, plain, 'and from the memo');
  });

  it('with PULUMI_DEBUG_PROMISE_LEAKS set (when the SDK prints those stacks) wraps nothing', function () {
    process.env.PULUMI_DEBUG_PROMISE_LEAKS = '1';
    skipMappingPromiseStacks();
    assert.equal(Error.prepareStackTrace, installed);
    assert.ok(sdkStack().split('\n').length > 3);
  });
});
