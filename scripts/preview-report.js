#!/usr/bin/env node
// Renders `pulumi preview --json` as the markdown comment of the pull-request check
// (scripts/pr-preview.sh): a summary line, then every resource that would change, by operation.
// Plain JavaScript with no dependencies: it runs wherever the CLI does.
'use strict';
const { readFileSync } = require('node:fs');

const [stack, jsonFile, logFile, status] = process.argv.slice(2);
const read = (file) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};
let preview;
try {
  preview = JSON.parse(read(jsonFile));
} catch {
  preview = undefined;
}
const lines = [];
if (preview === undefined || status !== '0') {
  const diagnostics = (preview?.diagnostics ?? [])
    .filter((d) => d.severity === 'error')
    .map((d) => String(d.message).trim());
  const errors = diagnostics.length > 0 ? diagnostics : [read(logFile).trim() || 'no output'];
  lines.push(`**pulumi preview of \`${stack}\` failed**`, '', '```', ...errors, '```');
} else {
  const summary = preview.changeSummary ?? {};
  const parts = Object.entries(summary)
    .filter(([op]) => op !== 'same')
    .map(([op, n]) => `${op} ${n}`);
  lines.push(
    `**pulumi preview of \`${stack}\`**: ${parts.length > 0 ? parts.join(', ') : 'no changes'} (${summary.same ?? 0} unchanged)`,
  );
  const changed = (preview.steps ?? []).filter((s) => s.op !== 'same');
  if (changed.length > 0) {
    lines.push('', '| operation | resource | changed inputs |', '| --- | --- | --- |');
    for (const step of changed) {
      const [, type, name] = /::([^:]+(?::[^:]+)*)::([^:]+)$/.exec(step.urn) ?? [];
      const inputs = step.diffReasons ?? Object.keys(step.detailedDiff ?? {});
      lines.push(
        `| ${step.op} | \`${name ?? step.urn}\` (${(type ?? '').split('$').pop()}) | ${inputs.join(', ')} |`,
      );
    }
  }
}
process.stdout.write(`${lines.join('\n')}\n`);
