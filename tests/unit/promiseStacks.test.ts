/**
 * The SDK's promise stacks stay unmapped (components/providers/promiseStacks.ts), and nothing else
 * changes: under ts-node (as Pulumi runs a TypeScript program, and as these tests run) every other
 * error's stack is still mapped to the TypeScript source.
 */
import { strict as assert } from 'node:assert';
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

  it('with PULUMI_DEBUG_PROMISE_LEAKS set (when the SDK prints those stacks) wraps nothing', function () {
    process.env.PULUMI_DEBUG_PROMISE_LEAKS = '1';
    skipMappingPromiseStacks();
    assert.equal(Error.prepareStackTrace, installed);
    assert.ok(sdkStack().split('\n').length > 3);
  });
});
