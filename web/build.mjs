// Bundles the dashboard: src/main.js (and the CSS it imports) into one IIFE script
// and one stylesheet under <out>/assets, named by content hash, and writes
// <out>/index.html that loads them. Usage: node build.mjs <out directory>.
import { build } from 'esbuild';
import { mkdirSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] || join(here, 'dist'));
const staging = out + '.tmp';
rmSync(staging, { recursive: true, force: true });
mkdirSync(staging, { recursive: true });

const result = await build({
  entryPoints: [join(here, 'src/main.js')],
  bundle: true,
  format: 'iife',
  minify: true,
  sourcemap: 'linked',
  target: ['chrome100', 'firefox100', 'safari15'],
  outdir: join(staging, 'assets'),
  entryNames: 'app-[hash]',
  metafile: true,
  logLevel: 'warning',
  legalComments: 'linked',
});

const names = Object.keys(result.metafile.outputs).map((p) => basename(p));
const js = names.find((n) => n.endsWith('.js'));
const css = names.find((n) => n.endsWith('.css'));
if (!js || !css) throw new Error(`esbuild wrote no script or no stylesheet: ${names.join(', ')}`);

writeFileSync(join(staging, 'index.html'), `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>DEC control</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/${css}">
<script defer src="/assets/${js}"></script>
</head>
<body><div id="app"></div></body>
</html>
`);

// Replace the previous output whole (written beside it first), so that no old
// asset is left behind and a failed build leaves the previous one in place.
rmSync(out + '.old', { recursive: true, force: true });
try { renameSync(out, out + '.old'); } catch (e) { if (e.code !== 'ENOENT') throw e; }
renameSync(staging, out);
rmSync(out + '.old', { recursive: true, force: true });
console.log(`dashboard: ${join(out, 'index.html')} (assets/${js}, assets/${css})`);
