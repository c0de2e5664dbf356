#!/usr/bin/env node
// The second half of `npm run build`: makes dist/ the component library's package, as Pulumi's own
// SDKs publish from their build folder. After tsc has written dist/components/ (JavaScript and type
// declarations), this copies the SQL the program renders (dist/sql/) and the README, and writes
// dist/package.json: the Pulumi packages as peer dependencies (the user's program has its own), as
// dependencies exactly the packages the compiled library requires, at this repository's ranges,
// and none of what only the repository needs (embedded PostgreSQL, test and lint tools).
// `npm pack ./dist` then makes the tarball a program installs.
'use strict';
const { cpSync, readFileSync, readdirSync, writeFileSync } = require('node:fs');
const { builtinModules } = require('node:module');
const path = require('node:path');

const root = path.join(__dirname, '..');
/** The build folder: dist/, or the one given (tsc's --outDir of the same build). */
const dist = path.resolve(process.argv[2] ?? path.join(root, 'dist'));
const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

/** Packages the user's program brings: one copy of each, shared with the program's own resources. */
const PEERS = ['@pulumi/pulumi', '@pulumi/postgresql', '@pulumi/random', '@pulumi/kubernetes'];
/**
 * Required only inside the provider reference's stub when the registry is a `.ts` file (a checkout
 * of this repository); a package's registry is JavaScript, so they are never loaded from it.
 */
const CHECKOUT_ONLY = ['tsx', 'ts-node'];

function jsFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return jsFiles(file);
    return entry.name.endsWith('.js') ? [file] : [];
  });
}

/** The package names the compiled library requires (bare specifiers, builtins left out). */
function requiredPackages() {
  const names = new Set();
  for (const file of jsFiles(path.join(dist, 'components'))) {
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(
      /\brequire\(\s*["']([^"'.][^"']*)["']\s*\)/g,
    )) {
      if (spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0])) continue;
      const parts = spec.split('/');
      names.add(spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]);
    }
  }
  return [...names].sort();
}

const required = requiredPackages();
const declared = { ...manifest.dependencies };
const missing = required.filter((name) => !CHECKOUT_ONLY.includes(name) && declared[name] === undefined);
if (missing.length > 0) {
  console.error(
    `package-manifest: the library requires ${missing.join(', ')}, which package.json's dependencies do not list`,
  );
  process.exit(1);
}
const pick = (names) => Object.fromEntries(names.map((name) => [name, declared[name]]));

cpSync(path.join(root, 'sql'), path.join(dist, 'sql'), { recursive: true });
cpSync(path.join(root, 'README.md'), path.join(dist, 'README.md'));
const entry = { types: './components/index.d.ts', default: './components/index.js' };
writeFileSync(
  path.join(dist, 'package.json'),
  `${JSON.stringify(
    {
      name: manifest.name,
      version: manifest.version,
      description: manifest.description,
      license: manifest.license,
      engines: manifest.engines,
      main: entry.default,
      types: entry.types,
      exports: {
        '.': entry,
        // The provider host requires the registry by this path (components/providers/reference.ts).
        './components/providers/registry.js': './components/providers/registry.js',
        './package.json': './package.json',
      },
      dependencies: pick(required.filter((name) => !PEERS.includes(name) && !CHECKOUT_ONLY.includes(name))),
      peerDependencies: pick(PEERS),
    },
    null,
    2,
  )}\n`,
);
console.log(
  `package-manifest: ${path.relative(root, dist) || '.'} is pg-federation ${manifest.version}: npm pack it`,
);
