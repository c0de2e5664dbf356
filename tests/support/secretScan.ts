/**
 * A mocha root hook: everything the test process prints (both streams, the reporter included), and
 * everything the tests capture without printing it (the engine's output of every update, preview,
 * refresh and destroy, tests/support/engine.ts; a child process's output), is scanned for the
 * passwords the tests know (tests/support/secrets.ts: the servers' password, every password a stack
 * generated, every one a test set), and the run fails if any appears. The scan never prints the
 * password it finds.
 */
import { GENERATED_SECRETS } from './secrets';

const seen: string[] = [];

function tap(stream: NodeJS.WriteStream): void {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    seen.push(
      typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk),
    );
    return write(chunk, ...rest);
  }) as typeof stream.write;
}

tap(process.stdout);
tap(process.stderr);

/** Output a test captured instead of printing it: scanned too. */
export function recordOutput(text: string): void {
  seen.push(text);
}

/** How many known passwords appear in what was printed or captured. */
export function leakedSecrets(): number {
  const text = seen.join('');
  return [...GENERATED_SECRETS].filter((secret) => text.includes(secret)).length;
}

export const mochaHooks = {
  afterAll(): void {
    const leaks = leakedSecrets();
    if (leaks > 0) {
      throw new Error(`${leaks} known password(s) appeared in what the tests printed or captured`);
    }
  },
};
