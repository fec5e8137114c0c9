/**
 * The dashboard build (scripts/build-web.mjs): into a temporary directory, checks that the outputs exist,
 * reference each other with the right content versions, load nothing from other hosts, and stay within
 * the size budget below.
 *
 * Budget (minified): app.js ≤ 260 KiB and ≤ 90 KiB gzipped (the chart library is about 160 KiB of it);
 * app.css ≤ 24 KiB and ≤ 6 KiB gzipped; index.html ≤ 2 KiB. One build takes well under 2 s.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SCRIPT = path.join(ROOT, 'scripts', 'build-web.mjs');
const KIB = 1024;

const BUDGET = {
  'app.js': { raw: 260 * KIB, gzip: 90 * KIB },
  'app.css': { raw: 24 * KIB, gzip: 6 * KIB },
  'index.html': { raw: 2 * KIB, gzip: 2 * KIB },
} as const;

/**
 * URLs allowed in the outputs, none of which the page loads:
 * - the SVG XML namespace, an identifier that `createElementNS` needs;
 * - tradingview.com: the attribution link the chart library's licence asks the page to show (a link
 *   the user may follow; the library's own logo link, turned off, is also in its code).
 */
const ALLOWED_URL = [/^http:\/\/www\.w3\.org\/2000\/svg$/, /^https:\/\/www\.tradingview\.com\//];

interface BuildModule {
  buildWeb(opts: { outDir: string; dev?: boolean }): Promise<{ versions: Record<string, string>; sizes: Record<string, number>; ms: number }>;
  renderIndex(html: string, versions: Record<string, string>): string;
}

const execFileP = promisify(execFile);
let dir: string;
let cliOut: string;
let cliMs: number;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tickline-web-'));
  const started = performance.now();
  const { stdout } = await execFileP(process.execPath, [SCRIPT, '--outdir', dir], { cwd: ROOT, timeout: 30_000 });
  cliMs = performance.now() - started;
  cliOut = stdout;
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha12 = (b: Buffer): string => createHash('sha256').update(b).digest('hex').slice(0, 12);

describe('scripts/build-web.mjs', () => {
  it('writes the page, the bundle, the stylesheet, the licence notes and the icon, each served file with gzip and brotli variants, and nothing else', async () => {
    assert.match(cliOut, /^web: built .* in \d+ ms/);
    const served = ['app.css', 'app.js', 'favicon.svg', 'index.html'];
    assert.deepEqual((await readdir(dir)).sort(), [...served.flatMap((n) => [n, `${n}.br`, `${n}.gz`]), 'app.js.LEGAL.txt'].sort());
    for (const name of served) {
      const plain = await readFile(path.join(dir, name));
      assert.deepEqual(gunzipSync(await readFile(path.join(dir, `${name}.gz`))), plain, `${name}.gz`);
      assert.deepEqual(brotliDecompressSync(await readFile(path.join(dir, `${name}.br`))), plain, `${name}.br`);
    }
  });

  it('points index.html at the assets with their content versions', async () => {
    const html = await readFile(path.join(dir, 'index.html'), 'utf8');
    const js = await readFile(path.join(dir, 'app.js'));
    const css = await readFile(path.join(dir, 'app.css'));
    assert.ok(html.includes(`<script type="module" src="./app.js?v=${sha12(js)}">`), html);
    assert.ok(html.includes(`<link rel="stylesheet" href="./app.css?v=${sha12(css)}"`), html);
    assert.ok(html.includes('<div id="root"></div>'), 'the mount point the bundle renders into');
    // Every local reference of the page names a file of the build.
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(refs.length >= 3);
    for (const ref of refs) {
      assert.match(ref, /^\.\//, `${ref} is relative to the page`);
      assert.ok(existsSync(path.join(dir, ref.slice(2).split('?')[0]!)), `${ref} exists in the build`);
    }
  });

  it('bundles everything into one module that points at its licence notes', async () => {
    const js = await readFile(path.join(dir, 'app.js'), 'utf8');
    assert.ok(js.trimEnd().endsWith('/*! For license information please see app.js.LEGAL.txt */'));
    assert.match(await readFile(path.join(dir, 'app.js.LEGAL.txt'), 'utf8'), /TradingView Lightweight Charts™ v5/);
    assert.doesNotMatch(js, /sourceMappingURL/, 'no source map in a production build');
    assert.doesNotMatch(js, /\bimport\s*\(|\bfrom\s*["']/, 'no module is left to fetch');
    assert.ok(js.includes('createChart') || js.includes('tv-attr-logo'), 'the chart library is in the bundle');
    assert.ok(js.length < (await readFile(path.join(ROOT, 'node_modules/lightweight-charts/dist/lightweight-charts.development.mjs'))).length, 'minified');
  });

  it('loads nothing from other hosts', async () => {
    for (const name of ['index.html', 'app.js', 'app.css']) {
      const text = await readFile(path.join(dir, name), 'utf8');
      const urls = [...text.matchAll(/https?:\/\/[^\s"'`)<>\\]+/g)].map((m) => m[0]);
      const foreign = urls.filter((u) => !ALLOWED_URL.some((re) => re.test(u)));
      assert.deepEqual(foreign, [], `${name} has URLs to other hosts`);
    }
    const css = await readFile(path.join(dir, 'app.css'), 'utf8');
    assert.doesNotMatch(css, /@import|url\(\s*["']?(?:https?:)?\/\//, 'no remote stylesheet, font or image');
    assert.doesNotMatch(css, /@font-face/, 'system fonts only');
    const html = await readFile(path.join(dir, 'index.html'), 'utf8');
    assert.doesNotMatch(html, /(?:src|href)="\/\//, 'no protocol-relative reference');
  });

  it('stays within the size budget', async () => {
    for (const [name, budget] of Object.entries(BUDGET)) {
      const bytes = await readFile(path.join(dir, name));
      const gz = gzipSync(bytes, { level: 9 }).length;
      console.log(`# ${name}: ${(bytes.length / KIB).toFixed(1)} KiB, ${(gz / KIB).toFixed(1)} KiB gzipped`);
      assert.ok(bytes.length <= budget.raw, `${name} is ${bytes.length} bytes, budget ${budget.raw}`);
      assert.ok(gz <= budget.gzip, `${name} gzips to ${gz} bytes, budget ${budget.gzip}`);
    }
  });

  it('builds in well under 2 s, and the same sources give the same versions', async () => {
    const mod = (await import(pathToFileURL(SCRIPT).href)) as BuildModule;
    const again = await mkdtemp(path.join(tmpdir(), 'tickline-web-'));
    try {
      const r = await mod.buildWeb({ outDir: again });
      console.log(`# build: ${r.ms} ms in process, ${Math.round(cliMs)} ms through the command`);
      assert.ok(r.ms < 2000, `the build took ${r.ms} ms`);
      const html = await readFile(path.join(dir, 'index.html'), 'utf8');
      assert.ok(html.includes(`app.js?v=${r.versions['app.js']}`) && html.includes(`app.css?v=${r.versions['app.css']}`), 'same versions as the first build');
    } finally {
      await rm(again, { recursive: true, force: true });
    }
  });

  it('refuses a page template that does not reference an asset', async () => {
    const mod = (await import(pathToFileURL(SCRIPT).href)) as BuildModule;
    assert.equal(mod.renderIndex('<script src="./app.js"></script>', { 'app.js': 'abc' }), '<script src="./app.js?v=abc"></script>');
    assert.throws(() => mod.renderIndex('<script src="/app.js"></script>', { 'app.js': 'abc' }), /must reference "\.\/app\.js"/);
  });
});
