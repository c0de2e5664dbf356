/**
 * Plain data as block YAML, for the two YAML texts the monitoring ships (the exporter's queries, the
 * alert rules): mappings and lists in block style, multi-line strings as literal blocks, other
 * strings plain where YAML reads them back as the same string, single-quoted otherwise. The output
 * is what Prettier writes for it (singleQuote), and reads back (js-yaml, yaml.v2) as the same data:
 * tests/unit/monitoring.test.ts holds both. Pure.
 */

export type YamlValue = string | number | boolean | YamlValue[] | { [key: string]: YamlValue };

/**
 * A string YAML 1.1 and 1.2 both read back as itself when written plain: no indicator first, no
 * `: ` or ` #`, no surrounding space, and nothing that reads as another type.
 */
function plainSafe(text: string): boolean {
  return (
    (/^[A-Za-z_(/$]/.test(text) || /^[0-9]+(ms|s|m|h|d|w|y)$/.test(text)) &&
    !/(: |:$| #|\t)/.test(text) &&
    text.trim() === text &&
    !/^(y|yes|n|no|true|false|on|off|null|~)$/i.test(text)
  );
}

/** Single-quoted, unless it holds more single quotes than double (as Prettier chooses). */
function quoted(text: string): string {
  const count = (c: string) => text.split(c).length - 1;
  return count("'") > count('"') ? JSON.stringify(text) : `'${text.replace(/'/g, "''")}'`;
}

/**
 * A scalar on the line of its key or dash, or a literal block starting there (its lines indented
 * under `indent`). A multi-line string must have no line ending in a space and no leading space on
 * its first line (a literal block could not hold it as is); this program writes none.
 */
function scalar(value: string | number | boolean, indent: string): string {
  if (typeof value !== 'string') return String(value);
  if (!value.includes('\n')) return plainSafe(value) ? value : quoted(value);
  const body = value.replace(/\n$/, '').split('\n');
  if (body.some((l) => /\s$/.test(l)) || /^\s/.test(body[0] ?? '') || body.at(-1) === '') {
    throw new Error(`no literal block holds this text as is: ${JSON.stringify(value.slice(0, 40))}…`);
  }
  const chomp = value.endsWith('\n') ? '|' : '|-';
  return `${chomp}\n${body.map((l) => (l === '' ? '' : `${indent}  ${l}`)).join('\n')}`;
}

function keyText(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key) ? key : quoted(key);
}

function isScalar(value: YamlValue): value is string | number | boolean {
  return typeof value !== 'object';
}

function lines(value: YamlValue, indent: string): string[] {
  if (Array.isArray(value)) {
    return value.flatMap((item) => {
      if (isScalar(item)) return [`${indent}- ${scalar(item, `${indent}  `)}`];
      const [first, ...rest] = lines(item, `${indent}  `);
      return first === undefined ? [`${indent}- []`] : [`${indent}- ${first.trimStart()}`, ...rest];
    });
  }
  if (isScalar(value)) return [`${indent}${scalar(value, indent)}`];
  return Object.entries(value).flatMap(([key, v]) => {
    const k = `${indent}${keyText(key)}:`;
    if (isScalar(v)) return [`${k} ${scalar(v, indent)}`];
    if (Array.isArray(v) && v.length === 0) return [`${k} []`];
    if (!Array.isArray(v) && Object.keys(v).length === 0) return [`${k} {}`];
    return [k, ...lines(v, `${indent}  `)];
  });
}

/** A YAML document for `value`, with `comment` lines (`# …`) first. Ends with a newline. */
export function toYaml(value: YamlValue, comment: string[] = []): string {
  return [...comment.map((c) => (c === '' ? '#' : `# ${c}`)), ...lines(value, '')].join('\n') + '\n';
}
