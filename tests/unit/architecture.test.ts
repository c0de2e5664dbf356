/**
 * The layers the README's Architecture section draws, held as a rule: every import (type-only
 * imports included) points down or within its layer, never up; no import circle; no source file
 * over 400 lines; SQL only in the builders (and in sql/).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

const ROOT = path.join(__dirname, '..', '..');

/** Bottom first; a file belongs to the first layer one of whose patterns matches it. */
export const LAYERS: Array<{ name: string; patterns: RegExp[] }> = [
  {
    name: 'primitives',
    patterns: [/^components\/(enums|naming|scram|replicationSettings|sql)\.ts$/],
  },
  { name: 'config', patterns: [/^components\/config\//] },
  {
    name: 'provider support',
    patterns: [
      /^components\/providers\/sql\//,
      /^components\/providers\/(connection|envelope|inputs|promiseStacks|reference|resource)\.ts$/,
    ],
  },
  {
    name: 'replication and shapes',
    patterns: [/^components\/providers\/(shape|replication|tableChanges)\.ts$/],
  },
  { name: 'providers', patterns: [/^components\/providers\/[a-zA-Z]+\.ts$/] },
  { name: 'endpoints', patterns: [/^components\/endpoints\.ts$/] },
  { name: 'monitoring', patterns: [/^components\/monitoring\//] },
  { name: 'member kinds', patterns: [/^components\/servers\//] },
  { name: 'settings', patterns: [/^components\/settings\.ts$/] },
  { name: 'stack config', patterns: [/^components\/stackConfig\.ts$/] },
  { name: 'plan', patterns: [/^components\/plan\//] },
  { name: 'policy view', patterns: [/^components\/policyView\.ts$/] },
  { name: 'member', patterns: [/^components\/(federationNode|resourceRegistry)\.ts$/] },
  { name: 'member data', patterns: [/^components\/memberData\.ts$/] },
  { name: 'mesh', patterns: [/^components\/mesh\.ts$/] },
  { name: 'federation', patterns: [/^components\/federation\.ts$/] },
  { name: 'library entry', patterns: [/^components\/index\.ts$/] },
  { name: 'embedded servers', patterns: [/^scripts\/embedded\//] },
  { name: 'program and scripts', patterns: [/^index\.ts$/, /^scripts\//] },
  { name: 'policy pack', patterns: [/^policy\//] },
  { name: 'bench and tests', patterns: [/^bench\//, /^tests\//] },
];

function layerOf(file: string): number {
  const i = LAYERS.findIndex((l) => l.patterns.some((p) => p.test(file)));
  assert.ok(i >= 0, `${file} belongs to no layer of the architecture`);
  return i;
}

function sourceFiles(): string[] {
  const listed = spawnSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' });
  return listed.stdout
    .split('\n')
    .filter((f) => /\.(ts|js|mjs|sh|sql)$/.test(f) && existsSync(path.join(ROOT, f)));
}

/** Each project file a TypeScript file imports (import, import type, export from, require), as repo paths. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(path.join(ROOT, file), 'utf8'), true, true);
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((name) => name.startsWith('.'))
    .map((name) => {
      const base = path.normalize(path.join(path.dirname(file), name));
      const found = [`${base}.ts`, path.join(base, 'index.ts'), base].find((c) =>
        existsSync(path.join(ROOT, c)),
      );
      assert.ok(found, `${file} imports ${name}, which is not a file of the project`);
      return found;
    })
    .filter((f) => f.endsWith('.ts'));
}

describe('the architecture', function () {
  const files = sourceFiles();
  const tsFiles = files.filter((f) => f.endsWith('.ts'));
  const graph = new Map(tsFiles.map((f) => [f, importsOf(f)]));

  it('every import points down a layer or stays within its own', function () {
    const upward: string[] = [];
    for (const [file, imports] of graph) {
      for (const target of imports) {
        if (layerOf(target) > layerOf(file)) {
          upward.push(
            `${file} (${LAYERS[layerOf(file)]?.name}) imports ${target} (${LAYERS[layerOf(target)]?.name})`,
          );
        }
      }
    }
    assert.deepEqual(upward, []);
  });

  it('has no import circle, type-only imports included', function () {
    const circles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (file: string, trail: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        circles.push([...trail.slice(trail.indexOf(file)), file].join(' -> '));
        return;
      }
      state.set(file, 'visiting');
      for (const target of graph.get(file) ?? []) visit(target, [...trail, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
    assert.deepEqual(circles, []);
  });

  it('keeps the benchmark out of the tests, and the program and scripts out of both', function () {
    const crossing = [...graph].flatMap(([file, imports]) =>
      imports
        .filter(
          (t) =>
            (file.startsWith('bench/') && t.startsWith('tests/')) ||
            (file.startsWith('tests/') && t.startsWith('bench/')),
        )
        .map((t) => `${file} imports ${t}`),
    );
    assert.deepEqual(crossing, []);
  });

  it('keeps the policy pack a project of its own: it imports nothing outside policy/', function () {
    const outside = [...graph]
      .filter(([file]) => file.startsWith('policy/'))
      .flatMap(([file, imports]) =>
        imports.filter((t) => !t.startsWith('policy/')).map((t) => `${file} imports ${t}`),
      );
    assert.deepEqual(outside, []);
  });

  it('holds no source file over 400 lines', function () {
    const long = files
      .map((f) => [f, readFileSync(path.join(ROOT, f), 'utf8').split('\n').length - 1] as const)
      .filter(([, lines]) => lines > 400)
      .map(([f, lines]) => `${f}: ${lines} lines`);
    assert.deepEqual(long, []);
  });

  it('writes SQL only in the builders (and sql/)', function () {
    const builders = [
      /^components\/providers\/sql\//,
      /^components\/monitoring\/queries\.ts$/,
      /^scripts\/status\/queries\.ts$/,
      /^scripts\/embedded\/(postgresqlResources|standbySql|workloadSql)\.ts$/,
      /^scripts\/chaos\/queries\.ts$/,
    ];
    const statement =
      /^\s*(SELECT\s+\S|INSERT\s+INTO|UPDATE\s+\S+\s+SET|DELETE\s+FROM|(CREATE|ALTER|DROP)\s+(OR\s+REPLACE\s+)?(TEMP\s+)?(TABLE|INDEX|SUBSCRIPTION|PUBLICATION|ROLE|EXTENSION|FUNCTION|SCHEMA|TRIGGER)\s+["$:a-z_]|TRUNCATE\s|GRANT\s|REVOKE\s|BEGIN$|COMMIT$|ROLLBACK$|SET\s+(LOCAL\s+)?[a-z_]+\s*=)/;
    const found: string[] = [];
    for (const file of tsFiles.filter(
      (f) => /^(components|scripts|index\.ts)/.test(f) && !builders.some((b) => b.test(f)),
    )) {
      const source = ts.createSourceFile(
        file,
        readFileSync(path.join(ROOT, file), 'utf8'),
        ts.ScriptTarget.Latest,
      );
      const visit = (node: ts.Node): void => {
        const text =
          ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)
            ? node.text
            : ts.isTemplateExpression(node)
              ? node.head.text
              : undefined;
        if (text !== undefined && statement.test(text)) found.push(`${file}: ${text.slice(0, 60)}`);
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    assert.deepEqual(found, []);
  });
});
