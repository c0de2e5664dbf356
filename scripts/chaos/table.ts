/** The campaign's results as one table: operation × fault. */
import type { RunResult } from './campaign';
import { FAULTS, OPERATIONS } from './schedule';

export function summaryTable(results: RunResult[]): string {
  const header = [
    'operation',
    'fault',
    'runs',
    'struck',
    'converged',
    'rows lost',
    'in flight',
    'orphans',
    'mean s to converge (struck)',
  ];
  const rows: string[][] = [];
  const line = (op: string, fault: string, rs: RunResult[]) => {
    const struck = rs.filter((r) => r.hit);
    const mean = struck.reduce((n, r) => n + r.convergeMs, 0) / struck.length / 1000;
    rows.push([
      op,
      fault,
      String(rs.length),
      String(rs.filter((r) => r.hit).length),
      String(rs.filter((r) => r.converged).length),
      String(rs.reduce((n, r) => n + r.rowsLost, 0)),
      String(rs.reduce((n, r) => n + r.inFlight, 0)),
      String(rs.reduce((n, r) => n + r.orphans.length, 0)),
      struck.length === 0 ? '-' : mean.toFixed(1),
    ]);
  };
  for (const op of OPERATIONS) {
    for (const fault of FAULTS) {
      const rs = results.filter((r) => r.operation === op && r.fault === fault);
      if (rs.length > 0) line(op, fault, rs);
    }
  }
  if (results.length > 0) line('all', 'all', results);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: string[]) =>
    `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  return [
    fmt(header),
    `|${widths.map((w, i) => '-'.repeat(w + 1) + (i < 2 ? '-' : ':')).join('|')}|`,
    ...rows.map(fmt),
  ].join('\n');
}
