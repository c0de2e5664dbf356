/** The status report as terminal tables: pure. */
import type { StatusReport } from './types';

const MiB = 2 ** 20;

/** The slot on the publisher: the WAL it keeps against the budget, its wal_status, failover or not. */
function slotCell(p: StatusReport['pairs'][number]): string {
  if (p.walStatus === null) return '-';
  const retained = `${((p.retainedBytes ?? 0) / MiB).toFixed(1)}MB`;
  const budget = p.budgetBytes === null ? 'unbounded' : `${Math.round(p.budgetBytes / MiB)}MB`;
  return `${retained}/${budget} ${p.walStatus}${p.failoverSlot === true ? ' failover' : ''}`;
}

/** The report as terminal tables. */
export function renderReport(report: StatusReport): string {
  const pairRows = report.pairs.map((p) => [
    `${p.subscriber} <- ${p.publisher}`,
    p.enabled === null ? '-' : p.enabled ? 'yes' : 'NO',
    p.workerRunning === null ? '-' : p.workerRunning ? 'yes' : 'NO',
    p.syncState ?? '-',
    p.lastMessage ?? '-',
    p.lagBytes === null ? '-' : String(p.lagBytes),
    slotCell(p),
    p.status === 'ok'
      ? 'ok'
      : `${p.status.toUpperCase()}: ${p.problem ?? ''}${p.fix !== undefined ? `; fix: ${p.fix}` : ''}`,
  ]);
  const holders = report.members.map((m) => m.name);
  const partitionRows = report.partitions.map((p) => {
    const problems = p.copies.filter((c) => c.status !== 'ok');
    return [
      p.table,
      p.owner,
      p.rows === null ? '-' : String(p.rows),
      ...holders.map((h) => {
        if (h === p.owner) return p.rows === null ? '-' : `${p.rows} (owner)`;
        const copy = p.copies.find((c) => c.holder === h);
        if (copy === undefined || copy.rows === null) return '-';
        return copy.status === 'ok' ? String(copy.rows) : `${copy.rows} ≠`;
      }),
      problems.length === 0
        ? 'ok'
        : problems
            .map(
              (c) =>
                `${c.status.toUpperCase()}: ${c.problem ?? ''}${c.fix !== undefined ? `; fix: ${c.fix}` : ''}`,
            )
            .join('; '),
    ];
  });
  const memberLines = report.members.flatMap((m) =>
    !m.reachable
      ? [`${m.name}: UNREACHABLE: ${m.error ?? ''}`]
      : [
          ...(m.missingTables.length > 0
            ? [
                `${m.name}: NO TABLE ${m.missingTables.join(', ')} (reachable; the federation is not deployed there)`,
              ]
            : []),
          ...m.drift.map((d) => `${m.name}: DRIFT: ${d}`),
          ...(m.unpublished.length > 0
            ? [
                `${m.name}: NOT PUBLISHED: ${m.unpublished.join(', ')} (its peers get none of these rows); fix: \`pulumi up --refresh\``,
              ]
            : []),
        ],
  );
  return [
    grid(
      [
        'subscriber <- publisher',
        'enabled',
        'worker',
        'sync',
        'last message',
        'lag bytes',
        'slot WAL/budget',
        'status',
      ],
      pairRows,
    ),
    '',
    grid(['table', 'owner', 'rows', ...holders, 'copies'], partitionRows),
    ...(memberLines.length > 0 ? ['', ...memberLines] : []),
    '',
    report.healthy ? 'healthy' : 'NOT HEALTHY',
  ].join('\n');
}

function grid(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
