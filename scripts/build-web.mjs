#!/usr/bin/env node
/**
 * Builds the dashboard: bundles web/src/main.ts (TypeScript, with the CSS it imports and the chart
 * library) with esbuild into web/dist/app.js and web/dist/app.css, and writes web/dist/index.html
 * from web/index.html with `?v=<content hash>` on both references, so browsers fetch new assets after
 * each build and may cache them for as long as they like otherwise.
 *
 *   node scripts/build-web.mjs [--outdir DIR] [--dev] [--watch]
 *
 * --dev keeps the code readable (no minification, inline source maps, the chart library's development
 * build); --watch rebuilds on every change of the sources or of web/index.html.
 *
 * Each file is written to a temporary name and renamed, and index.html last, so a server reading the
 * directory during a build never serves a half-written file or a page naming assets not yet written.
 * Third-party licence comments go to app.js.LEGAL.txt next to the bundle (the bundle says so).
 */
import { createHash } from 'node:crypto';
import { watch as watchDir } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WEB = path.join(ROOT, 'web');
export const DEFAULT_OUT_DIR = path.join(WEB, 'dist');
const ENTRY = path.join(WEB, 'src', 'main.ts');
const HTML = path.join(WEB, 'index.html');
const STATIC_FILES = ['favicon.svg'];

/** Browsers the bundle is written for: every evergreen browser of the last few years. */
const TARGET = ['es2022', 'chrome109', 'edge109', 'firefox115', 'safari16'];

/** Names this build writes; a rebuild removes only these from the output directory. */
const SERVED = ['app.js', 'app.css', 'index.html', ...STATIC_FILES];
/** Served files also get gzip and brotli variants, which the server sends to browsers that accept them. */
const COMPRESSED = SERVED.flatMap((n) => [`${n}.gz`, `${n}.br`]);
const OUTPUTS = ['app.js', 'app.css', 'app.js.map', 'app.css.map', 'app.js.LEGAL.txt', 'index.html', ...STATIC_FILES, ...COMPRESSED];

/**
 * esbuild options for one build. `write: false`: the outputs are post-processed (hashed, written
 * atomically) by `emit`.
 */
function esbuildOptions(outDir, dev) {
  return {
    entryPoints: { app: ENTRY },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: TARGET,
    outdir: outDir,
    write: false,
    minify: !dev,
    sourcemap: dev ? 'inline' : false,
    legalComments: dev ? 'inline' : 'linked',
    conditions: dev ? ['development'] : ['production'],
    charset: 'utf8',
    logLevel: 'silent',
    metafile: true,
  };
}

/** Short content hash for cache busting. */
function contentHash(bytes) {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 12);
}

async function writeAtomic(file, contents) {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, contents);
  await rename(tmp, file);
}

/** Writes `file.gz` and `file.br` (maximum compression: this runs once per build, not per request). */
async function writeCompressed(file, contents) {
  await writeAtomic(`${file}.gz`, gzipSync(contents, { level: 9 }));
  await writeAtomic(`${file}.br`, brotliCompressSync(contents, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11 } }));
}

/** The page with its asset references pointed at this build's versions. */
export function renderIndex(html, versions) {
  let out = html;
  for (const [name, hash] of Object.entries(versions)) {
    const ref = new RegExp(`(["'])\\./${name.replace('.', '\\.')}\\1`);
    if (!ref.test(out)) throw new Error(`web/index.html must reference "./${name}" (quoted, relative); it does not`);
    out = out.replace(ref, `$1./${name}?v=${hash}$1`);
  }
  return out;
}

/** Drops the indentation between tags (the template has no <pre> or inline text that depends on it). */
export function minifyHtml(html) {
  return `${html.replace(/>\s+</g, '><').trim()}\n`;
}

/** Writes the outputs of one esbuild result and the page; returns what was written. */
async function emit(result, outDir) {
  await mkdir(outDir, { recursive: true });
  const files = new Map(result.outputFiles.map((f) => [path.basename(f.path), f.contents]));
  const js = files.get('app.js');
  const css = files.get('app.css');
  if (js === undefined || css === undefined) {
    throw new Error(`the bundle must produce app.js and app.css, got ${[...files.keys()].join(', ') || 'nothing'}`);
  }
  // Remove what an earlier build wrote and this one does not (e.g. the legal file of a --dev build).
  // The page, the icon and the compressed variants of served files are always rewritten below: removing them
  // first would make a running server answer 404 for the page while the build runs.
  const rewritten = new Set(['index.html', ...STATIC_FILES, ...COMPRESSED.filter((n) => SERVED.includes(n.replace(/\.(gz|br)$/, '')))]);
  await Promise.all(OUTPUTS.filter((n) => !files.has(n) && !rewritten.has(n)).map((n) => rm(path.join(outDir, n), { force: true })));
  for (const [name, contents] of files) {
    await writeAtomic(path.join(outDir, name), contents);
    if (SERVED.includes(name)) await writeCompressed(path.join(outDir, name), contents);
  }
  for (const name of STATIC_FILES) {
    const contents = await readFile(path.join(WEB, name));
    await writeAtomic(path.join(outDir, name), contents);
    await writeCompressed(path.join(outDir, name), contents);
  }
  const versions = { 'app.css': contentHash(css), 'app.js': contentHash(js) };
  const html = minifyHtml(renderIndex(await readFile(HTML, 'utf8'), versions));
  await writeCompressed(path.join(outDir, 'index.html'), html);
  await writeAtomic(path.join(outDir, 'index.html'), html);
  const sizes = Object.fromEntries([...files].map(([n, c]) => [n, c.byteLength]));
  return { outDir, versions, sizes, warnings: result.warnings };
}

/**
 * Builds once. Resolves to `{ outDir, versions, sizes, warnings, ms }` (`versions`: the `?v=` of each
 * asset; `sizes`: bytes per file; `warnings`: esbuild's); rejects with esbuild's messages (file, line,
 * column, text) in `errors` when the sources do not compile.
 */
export async function buildWeb({ outDir = DEFAULT_OUT_DIR, dev = false } = {}) {
  const started = performance.now();
  const result = await esbuild.build(esbuildOptions(outDir, dev));
  const written = await emit(result, outDir);
  return { ...written, ms: Math.round(performance.now() - started) };
}

/** Builds, then rebuilds on every change until the process ends. */
async function watchWeb({ outDir, dev }) {
  const ctx = await esbuild.context({
    ...esbuildOptions(outDir, dev),
    plugins: [
      {
        name: 'tickline-emit',
        setup(build) {
          let started = 0;
          build.onStart(() => {
            started = performance.now();
          });
          build.onEnd(async (result) => {
            if (result.errors.length > 0) {
              console.error(formatMessages(result.errors));
              return;
            }
            if (result.warnings.length > 0) console.warn(formatMessages(result.warnings));
            try {
              await emit(result, outDir);
              console.error(`web: rebuilt ${shown(outDir)} in ${Math.round(performance.now() - started)} ms`);
            } catch (err) {
              console.error(`web: rebuild failed: ${err.message}`);
            }
          });
        },
      },
    ],
  });
  await ctx.watch();
  // esbuild watches what the bundle imports; the page template is not imported, so watch it here. The
  // directory, not the file: editors save by renaming a new file over the old one, which ends a watch
  // on the file itself.
  watchDir(WEB, (_event, name) => {
    if (name === path.basename(HTML) || STATIC_FILES.includes(name)) void ctx.rebuild().catch(() => {});
  });
  console.error(`web: watching web/ → ${shown(outDir)} (Ctrl-C to stop)`);
}

/** A directory as the messages show it: relative inside the repository, absolute outside. */
function shown(dir) {
  const rel = path.relative(ROOT, dir);
  return rel === '' || rel.startsWith('..') || path.isAbsolute(rel) ? dir : rel;
}

function formatMessages(messages) {
  return messages
    .map((m) => (m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ${m.text}` : m.text))
    .join('\n');
}

async function main() {
  const { values } = parseArgs({
    options: {
      outdir: { type: 'string' },
      dev: { type: 'boolean', default: false },
      watch: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write('usage: node scripts/build-web.mjs [--outdir DIR] [--dev] [--watch]\n');
    return;
  }
  const outDir = values.outdir === undefined ? DEFAULT_OUT_DIR : path.resolve(values.outdir);
  if (values.watch) return watchWeb({ outDir, dev: values.dev });
  try {
    const r = await buildWeb({ outDir, dev: values.dev });
    if (r.warnings.length > 0) console.warn(formatMessages(r.warnings));
    const sizes = Object.entries(r.sizes)
      .map(([n, b]) => `${n} ${(b / 1024).toFixed(1)} KiB`)
      .join(', ');
    process.stdout.write(`web: built ${shown(outDir)} in ${r.ms} ms (${sizes})\n`);
  } catch (err) {
    console.error(`web: build failed\n${err.errors ? formatMessages(err.errors) : err.message}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
