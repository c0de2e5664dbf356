/**
 * `npm run bench`: the federation's costs, measured side by side in one run on embedded PostgreSQL
 * of every supported major, printed as markdown tables and written to bench/results/ (JSON, markdown
 * and an SVG chart). Never part of `npm test`. See USAGE below.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_MAJOR, SUPPORTED_MAJORS } from '../scripts/embedded/postgres';
import { ServerSet, query } from '../scripts/embedded/serverSet';
import { type BigTableResult, benchBigTable } from './bigTable';
import { type EngineResult, benchEngine, benchState } from './engine';
import { benchProgram, type ProgramResult } from './program';
import { benchPropagation, type PropagationResult } from './propagation';
import { round } from './stats';
import { benchWritePath, type WritePathResult } from './writePath';

const PARTS = ['write', 'propagation', 'program', 'engine', 'bigtable'] as const;
type Part = (typeof PARTS)[number];

const USAGE = `usage: npm run bench [-- [--quick] [--majors 14,18] [--only ${PARTS.join(',')}]]

  Measures side by side, in one run: the local write path (plain table, the federated table, the
  seed's trigger) and propagation through a live mesh, per PostgreSQL major; the Pulumi program's
  evaluation under mocks beside the SDK's floor; the real engine (pulumi up, preview, adding a
  member) at 10 members beside its floor, and the checkpoint's size. Prints markdown tables of
  times and ratios. The engine part needs the pulumi CLI on PATH.

  (no option)       every supported major (${SUPPORTED_MAJORS.join(', ')}), full sizes (about 20 minutes on 2 cores);
                    writes bench/results/results.json, results.md and ratios.svg (tracked)
  --quick           small sizes, one round, 3 members for the engine (a few minutes); writes
                    bench/results/*-quick.* (ignored by git), never the tracked results
  --majors LIST     only these majors, e.g. 14,18
  --only LIST       only these parts (${PARTS.join(', ')}); writes bench/results/*-quick.* too
  --rounds N        rounds of the write path and the program (default 5 and 3; --quick 1)
  --rows N          rows on each member before a member joins them (default 1000000; --quick 20000)
  --help            this text`;

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    majors: { type: 'string' },
    only: { type: 'string' },
    rounds: { type: 'string' },
    rows: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
const QUICK = args.quick === true || process.env.BENCH_QUICK === '1';
const MAJORS = (args.majors ?? SUPPORTED_MAJORS.join(',')).split(',').map(Number);
const ONLY = (args.only ?? PARTS.join(',')).split(',') as Part[];
const PARTIAL = args.only !== undefined;
const ROUNDS = args.rounds === undefined ? undefined : Number(args.rounds);
const ROWS = Number(args.rows ?? (QUICK ? 20_000 : 1_000_000));
const RESULTS = path.join(__dirname, 'results');
const log = (line: string): void => console.error(line);

interface Results {
  date: string;
  machine: { cpu: string; cores: number; memoryGiB: number; node: string; postgres: string };
  settings: Record<string, number>;
  writePath: Array<
    WritePathResult & {
      postgres: string;
      singleRowRatio: number;
      bulkRatio: number;
      singleRowAfter50kRatio: number;
    }
  >;
  propagation: Array<PropagationResult & { rowAllOverFirst: number; bulkAllOverFirst: number }>;
  program: ProgramResult[];
  engine: EngineResult[];
  bigTable: BigTableResult[];
  state: Array<{
    members: number;
    resources: number;
    bytesPerResource: number;
    providerCharsPerDynamic: number;
  }>;
}

function table(header: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function svg(results: Results): string {
  const bars: Array<[string, number]> = [
    ...results.writePath
      .filter((w) => w.variant !== 'plain')
      .flatMap((w): Array<[string, number]> => [
        [`PG ${w.postgres} ${w.variant}: single-row`, w.singleRowRatio],
        [`PG ${w.postgres} ${w.variant}: bulk`, w.bulkRatio],
        [`PG ${w.postgres} ${w.variant}: single-row after preload`, w.singleRowAfter50kRatio],
      ]),
    ...results.propagation.map((p): [string, number] => [
      `PG ${p.postgres}, ${p.members} members: row to all / to first`,
      p.rowAllOverFirst,
    ]),
    ...results.propagation.map((p): [string, number] => [
      `PG ${p.postgres}, ${p.members} members: bulk to all / to first`,
      p.bulkAllOverFirst,
    ]),
  ];
  const max = Math.max(2, ...bars.map(([, v]) => v));
  const width = 760;
  const left = 300;
  const scale = (v: number): number => ((width - left - 60) * v) / max;
  const rows = bars
    .map(([label, v], i) => {
      const y = 30 + i * 22;
      return (
        `<text x="${left - 8}" y="${y + 13}" text-anchor="end">${label}</text>` +
        `<rect x="${left}" y="${y}" width="${scale(v).toFixed(1)}" height="16" fill="${v <= 1.15 ? '#4c9a2a' : v <= 1.5 ? '#d9a400' : '#c0392b'}"/>` +
        `<text x="${left + scale(v) + 6}" y="${y + 13}">${v.toFixed(2)}×</text>`
      );
    })
    .join('\n');
  const one = left + scale(1);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${50 + bars.length * 22}" font-family="sans-serif" font-size="12">
<text x="10" y="18" font-weight="bold">pg-federation ratios (${results.date}, ${results.machine.cores} cores): write path vs plain table; propagation to all vs to first member</text>
<line x1="${one}" y1="26" x2="${one}" y2="${34 + bars.length * 22}" stroke="#888" stroke-dasharray="3,3"/>
${rows}
</svg>
`;
}

async function main(): Promise<void> {
  if (args.help === true) {
    console.log(USAGE);
    return;
  }
  const unknown = MAJORS.filter((m) => !(SUPPORTED_MAJORS as readonly number[]).includes(m));
  if (unknown.length > 0)
    throw new Error(`--majors: ${unknown.join(', ')} not among ${SUPPORTED_MAJORS.join(', ')}`);
  const unknownParts = ONLY.filter((p) => !(PARTS as readonly string[]).includes(p));
  if (unknownParts.length > 0)
    throw new Error(`--only: ${unknownParts.join(', ')} not among ${PARTS.join(', ')}`);
  const started = Date.now();
  if (!(Number.isInteger(ROWS) && ROWS > 0))
    throw new Error(`--rows: ${String(args.rows)} is not a positive whole number`);
  if (ROUNDS !== undefined && !(Number.isInteger(ROUNDS) && ROUNDS > 0))
    throw new Error(`--rounds: ${String(args.rounds)} is not a positive whole number`);
  const writeOpts = QUICK
    ? { rounds: ROUNDS ?? 1, singleRows: 300, bulkRows: 10_000, preload: 5_000 }
    : { rounds: ROUNDS ?? 5, singleRows: 3_000, bulkRows: 100_000, preload: 50_000 };
  const propOpts = QUICK ? { samples: 20, bulkRows: 10_000 } : { samples: 200, bulkRows: 100_000 };
  const meshes = QUICK ? [3] : [3, 5, 8];
  const programSizes = QUICK ? [3, 10] : [3, 10, 30];
  const engineMembers = QUICK ? 3 : 10;

  const writePath: Array<WritePathResult & { postgres: string }> = [];
  const propagation: PropagationResult[] = [];
  for (const major of MAJORS) {
    if (!ONLY.includes('write')) break;
    log(`PostgreSQL ${major}: write path ...`);
    const set = await ServerSet.start(['bench-write'], { major });
    try {
      const server = set.get('bench-write');
      const postgres = String(
        (await query<{ v: string }>(server, "SELECT current_setting('server_version') AS v"))[0]?.v ?? '',
      );
      for (const w of await benchWritePath(server, writeOpts, log)) writePath.push({ ...w, postgres });
    } finally {
      await set.stopAll();
    }
  }
  for (const major of MAJORS) {
    if (!ONLY.includes('propagation')) break;
    log(`PostgreSQL ${major}: propagation ...`);
    // Every mesh size on the newest major; the seed's three members on every major.
    for (const members of major === DEFAULT_MAJOR ? meshes : [3]) {
      propagation.push(await benchPropagation(members, { ...propOpts, major }, log));
    }
  }

  const program: ProgramResult[] = [];
  if (ONLY.includes('program')) {
    log('program under mocks ...');
    for (const members of programSizes) program.push(await benchProgram(members, ROUNDS ?? (QUICK ? 1 : 3)));
  }
  const engine: EngineResult[] = [];
  const state: Results['state'] = [];
  if (ONLY.includes('engine')) {
    log('checkpoint of 3 members ...');
    const three = await benchState(3);
    state.push({
      members: 3,
      resources: three.resources,
      bytesPerResource: three.bytes / three.resources,
      providerCharsPerDynamic: three.providerCharsPerDynamic,
    });
    const e = await benchEngine(engineMembers, log);
    engine.push(e);
    if (engineMembers !== 3) {
      state.push({
        members: e.members,
        resources: e.resources,
        bytesPerResource: e.checkpointBytes,
        providerCharsPerDynamic: e.providerCharsPerDynamic,
      });
    }
  }

  const bigTable: BigTableResult[] = [];
  if (ONLY.includes('bigtable')) bigTable.push(await benchBigTable(ROWS, log));

  const results: Results = {
    date: new Date().toISOString().slice(0, 10),
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      memoryGiB: round(totalmem() / 2 ** 30, 1),
      node: process.version,
      postgres: [...new Set(writePath.map((w) => w.postgres))].join(', ') || `${DEFAULT_MAJOR}`,
    },
    settings: { ...writeOpts, ...propOpts, quick: QUICK ? 1 : 0 },
    writePath: writePath.map((w) => {
      const plain = writePath.find(
        (p) => p.variant === 'plain' && p.postgres === w.postgres,
      ) as WritePathResult;
      return {
        ...w,
        singleRowRatio: round(w.singleRowMs / plain.singleRowMs),
        bulkRatio: round(w.bulkMs / plain.bulkMs),
        singleRowAfter50kRatio: round(w.singleRowAfter50kMs / plain.singleRowAfter50kMs),
      };
    }),
    propagation: propagation.map((p) => ({
      ...p,
      rowAllOverFirst: round(p.rowToAllP50Ms / p.rowToFirstP50Ms),
      bulkAllOverFirst: round(p.bulkToAllMs / p.bulkToFirstMs),
    })),
    program,
    engine,
    bigTable,
    state,
  };
  const seconds = (ms: number): number => round(ms / 1000, 1);

  const md = [
    `Machine: ${results.machine.cpu}, ${results.machine.cores} cores, ${results.machine.memoryGiB} GiB; Node ${results.machine.node}; PostgreSQL ${results.machine.postgres}. Medians of ${writeOpts.rounds} interleaved rounds.`,
    '',
    `Local write path (${writeOpts.singleRows} single-row INSERTs; one INSERT of ${writeOpts.bulkRows} rows; ${writeOpts.singleRows} single-row INSERTs after ${writeOpts.preload} earlier rows):`,
    '',
    table(
      [
        'PostgreSQL',
        'table',
        'single-row ms',
        'ratio',
        'bulk ms',
        'ratio',
        'single-row after preload ms',
        'ratio',
      ],
      results.writePath.map((w) => [
        w.postgres,
        w.variant,
        round(w.singleRowMs, 0),
        `${w.singleRowRatio}×`,
        round(w.bulkMs, 0),
        `${w.bulkRatio}×`,
        round(w.singleRowAfter50kMs, 0),
        `${w.singleRowAfter50kRatio}×`,
      ]),
    ),
    '',
    `Propagation from one member (${propOpts.samples} single rows; one INSERT of ${propOpts.bulkRows} rows):`,
    '',
    table(
      [
        'PostgreSQL',
        'members',
        'row to first p50 ms',
        'row to all p50 ms',
        'row to all p99 ms',
        'all/first',
        `${propOpts.bulkRows} rows to first ms`,
        'to all ms',
        'all/first',
      ],
      results.propagation.map((p) => [
        p.postgres,
        p.members,
        round(p.rowToFirstP50Ms, 1),
        round(p.rowToAllP50Ms, 1),
        round(p.rowToAllP99Ms, 1),
        `${p.rowAllOverFirst}×`,
        round(p.bulkToFirstMs, 0),
        round(p.bulkToAllMs, 0),
        `${p.bulkAllOverFirst}×`,
      ]),
    ),
    '',
    'The Pulumi program under mocks, beside the SDK floor (as many bare custom resources, same mocks, same ts-node):',
    '',
    table(
      [
        'members',
        'resources',
        'dynamic',
        'evaluate ms',
        'ms per resource',
        'floor ms',
        'evaluate/floor',
        'provider chars per dynamic resource',
      ],
      results.program.map((p) => [
        p.members,
        p.resources,
        p.dynamicResources,
        round(p.evaluateMs, 0),
        round(p.evaluateMs / p.resources, 1),
        round(p.floorMs, 0),
        `${round(p.evaluateMs / p.floorMs)}×`,
        p.providerChars,
      ]),
    ),
    '',
    'The real engine (Automation API, file backend, embedded PostgreSQL), beside its floor (as many no-op dynamic resources, bench/floor):',
    '',
    table(
      [
        'members',
        'resources',
        'up s',
        's per resource',
        'floor up s',
        'up/floor',
        'no-change preview s',
        'floor preview s',
        'preview/floor',
        'add one: preview s',
        'add one: up s',
        'add one: changes',
      ],
      results.engine.map((e) => [
        e.members,
        e.resources,
        seconds(e.upMs),
        round(e.upMs / 1000 / e.resources, 2),
        seconds(e.floor.upMs),
        `${round(e.upMs / e.floor.upMs)}×`,
        seconds(e.previewMs),
        seconds(e.floor.previewMs),
        `${round(e.previewMs / e.floor.previewMs)}×`,
        seconds(e.addPreviewMs),
        seconds(e.addUpMs),
        JSON.stringify(e.addChanges),
      ]),
    ),
    '',
    'Adding hippo-south to 3 members that hold rows, beside the limit (each partition piped by COPY, all peers at once):',
    '',
    table(
      ['rows per member', 'add s', 'COPY limit s', 'add/limit', 'WAL retained by the add MB'],
      results.bigTable.map((b) => [
        b.rowsPerMember,
        seconds(b.addMs),
        seconds(b.limitMs),
        `${round(b.addMs / b.limitMs)}×`,
        round(b.peakRetainedWalMB, 0),
      ]),
    ),
    '',
    'The checkpoint (`pulumi stack export`, secrets encrypted):',
    '',
    table(
      [
        'members',
        'resources',
        'bytes per resource',
        'provider chars per dynamic resource (inputs + outputs)',
      ],
      results.state.map((s) => [
        s.members,
        s.resources,
        round(s.bytesPerResource, 0),
        round(s.providerCharsPerDynamic, 0),
      ]),
    ),
  ].join('\n');
  console.log(md);

  mkdirSync(RESULTS, { recursive: true });
  const suffix = QUICK || PARTIAL ? '-quick' : '';
  writeFileSync(path.join(RESULTS, `results${suffix}.json`), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(path.join(RESULTS, `results${suffix}.md`), `${md}\n`);
  writeFileSync(path.join(RESULTS, `ratios${suffix}.svg`), svg(results));
  log(
    `done in ${round((Date.now() - started) / 1000, 0)} s; results in ${path.relative(process.cwd(), RESULTS)}/`,
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
