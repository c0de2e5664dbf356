/** Collect what the providers report (they write to stderr through console.warn, which the CLI shows). */
export async function captureReports<T>(fn: () => Promise<T>): Promise<{ result: T; reports: string[] }> {
  const reports: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => {
    reports.push(args.map(String).join(' '));
  };
  try {
    return { result: await fn(), reports };
  } finally {
    console.warn = original;
  }
}
