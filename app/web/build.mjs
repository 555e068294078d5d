// Bundle of the web client with content-hashed names, and the manifest
// that maps each entry to the name of its current build. The edge caches
// these files for a year: a change of content is a change of name.

import { rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { build } from 'esbuild';

const OUT_DIR = '../src/parley/static/dist';
const ENTRIES = [
  { in: 'src/main.js', out: 'parley', manifestName: 'parley.js' },
  { in: 'src/parley.css', out: 'parley', manifestName: 'parley.css' },
];

rmSync(OUT_DIR, { recursive: true, force: true });

const result = await build({
  entryPoints: ENTRIES.map(({ in: input, out }) => ({ in: input, out })),
  bundle: true,
  format: 'esm',
  target: 'es2020',
  minify: true,
  sourcemap: true,
  outdir: OUT_DIR,
  entryNames: '[name]-[hash]',
  metafile: true,
  logLevel: 'warning',
});

const manifest = {};
for (const [path, output] of Object.entries(result.metafile.outputs)) {
  const entry = ENTRIES.find((candidate) => candidate.in === output.entryPoint);
  if (entry !== undefined && !path.endsWith('.map')) {
    manifest[entry.manifestName] = basename(path);
  }
}
for (const entry of ENTRIES) {
  if (manifest[entry.manifestName] === undefined) {
    throw new Error(`the build produced no file for ${entry.in}`);
  }
}
writeFileSync(`${OUT_DIR}/manifest.json`, `${JSON.stringify(manifest, null, 2)}\n`);
