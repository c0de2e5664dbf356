/**
 * A mocha root hook: everything the test process prints (both streams, the reporter included) is
 * scanned for the passwords the tests generate, and the run fails if any appears. The scan never
 * prints the password it finds.
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

/** How many printed chunks contain a generated password. */
export function leakedSecrets(): number {
  const text = seen.join('');
  return [...GENERATED_SECRETS].filter((secret) => text.includes(secret)).length;
}

export const mochaHooks = {
  afterAll(): void {
    const leaks = leakedSecrets();
    if (leaks > 0) {
      throw new Error(`${leaks} generated password(s) appeared in what the tests printed`);
    }
  },
};
