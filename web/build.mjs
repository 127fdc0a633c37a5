#!/usr/bin/env node
// Builds the web app into web/dist (or the directory given as the first
// argument): index.html and assets/ (the app's JS and CSS, and lazy chunks:
// snarkjs only for the proof check, circomlibjs only for the receipt check).
// Deterministic: the same sources and lockfile give byte-identical files
// (content-hashed names, no timestamps), because web/dist is committed and
// scripts/check-web.sh compares a fresh build with it. Prints a size table.
//
//   node web/build.mjs [OUTDIR]
import { build } from 'esbuild';
import { readFileSync, writeFileSync, rmSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = dirname(fileURLToPath(import.meta.url));
const root = resolve(web, '..');
const modules = join(root, 'node_modules');
const outdir = resolve(process.argv[2] || join(web, 'dist'));

// Bare names the lazy modules import, mapped to the one file each needs:
// the packages' "exports" expose only their whole index (which for
// circomlibjs pulls in ethers), so the files are named directly.
const aliases = {
  'circomlibjs-poseidon': join(modules, 'circomlibjs/src/poseidon_reference.js'),
  'snarkjs-groth16-verify': join(modules, 'snarkjs/src/groth16_verify.js'),
};

const plugins = [
  {
    name: 'shareproof-resolve',
    setup(b) {
      b.onResolve({ filter: /^(circomlibjs-poseidon|snarkjs-groth16-verify)$/ }, (args) => ({ path: aliases[args.path] }));
      // circomlibjs imports Node's assert for argument checks.
      b.onResolve({ filter: /^assert$/ }, () => ({ path: 'assert', namespace: 'shim' }));
      b.onLoad({ filter: /^assert$/, namespace: 'shim' }, () => ({
        contents: 'export default function assert(ok, message) { if (!ok) throw new Error(message || "assertion failed"); }',
        loader: 'js',
      }));
      // circomlibjs's Poseidon constants cover 1 to 16 inputs (850 kB); the
      // window tree only ever hashes 8, so only that width's round
      // constants C[7] and matrix M[7] are kept (t = 9). Any other width
      // fails loudly in the reference code rather than hashing wrongly.
      b.onLoad({ filter: /circomlibjs[\\/]src[\\/]poseidon_constants\.js$/ }, (args) => {
        const text = readFileSync(args.path, 'utf8').replace(/^\s*export default\s*/, '').replace(/;\s*$/, '');
        const all = JSON.parse(text);
        const keep = (list) => list.map((v, i) => (i === 7 ? v : null));
        return { contents: `export default ${JSON.stringify({ C: keep(all.C), M: keep(all.M) })};`, loader: 'js' };
      });
    },
  },
];

rmSync(outdir, { recursive: true, force: true });
mkdirSync(join(outdir, 'assets'), { recursive: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: { main: join(web, 'src/main.js') },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022', 'chrome111', 'firefox111', 'safari16'],
  minify: true,
  legalComments: 'none',
  charset: 'utf8',
  outdir: join(outdir, 'assets'),
  entryNames: '[name]-[hash]',
  chunkNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  publicPath: '/assets',
  metafile: true,
  logLevel: 'warning',
  plugins,
});

// index.html with the entry's absolute asset URLs (pages live at / and /miner/0x…).
const outputs = Object.entries(result.metafile.outputs);
const [jsPath, jsMeta] = outputs.find(([, o]) => o.entryPoint === relative(root, join(web, 'src/main.js')));
const url = (p) => `/assets/${relative(join(outdir, 'assets'), resolve(root, p)).split('\\').join('/')}`;
const html = readFileSync(join(web, 'src/index.html'), 'utf8')
  .replace('%JS%', url(jsPath))
  .replace('%CSS%', url(jsMeta.cssBundle));
writeFileSync(join(outdir, 'index.html'), html);

// Size table: raw and gzip (level 9) per file.
function files(dir) {
  return readdirSync(dir).sort().flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}
const rows = files(outdir).map((p) => {
  const bytes = readFileSync(p);
  return { file: relative(outdir, p), raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
});
const total = rows.reduce((t, r) => ({ raw: t.raw + r.raw, gzip: t.gzip + r.gzip }), { raw: 0, gzip: 0 });
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
const width = Math.max(...rows.map((r) => r.file.length), 5);
console.log(`web build: ${relative(process.cwd(), outdir) || '.'}`);
console.log(`${'file'.padEnd(width)}  ${'raw'.padStart(11)}  ${'gzip'.padStart(11)}`);
for (const r of [...rows, { file: 'total', ...total }]) {
  console.log(`${r.file.padEnd(width)}  ${kb(r.raw).padStart(11)}  ${kb(r.gzip).padStart(11)}`);
}
const LIMIT = 1024 * 1024;
if (total.gzip > LIMIT) {
  console.error(`web build: the bundle is ${kb(total.gzip)} gzipped, over the 1 MiB goal`);
  process.exit(1);
}
