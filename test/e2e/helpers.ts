import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { loadConfig, type Config } from '../../src/config/load.ts';
import { silentLogger } from '../../src/core/log.ts';
import { startPlatform, type Platform, type PlatformOptions } from '../../src/roles/platform.ts';

export function tempDir(prefix = 'tickline-e2e-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function testConfig(dataDir: string, over: Record<string, unknown> = {}): Config {
  return loadConfig({ env: {}, overrides: { dataDir, port: 0, simRate: 0, logLevel: 'silent', quiet: true, auth: false, ...over } });
}

export async function start(config: Config, opts: Partial<PlatformOptions> = {}): Promise<Platform & { url: string }> {
  const p = await startPlatform({ config, logger: silentLogger(), ...opts });
  if (!p.url) throw new Error('the api role did not start');
  return p as Platform & { url: string };
}

export async function getJson<T = Record<string, unknown>>(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { headers });
  return { status: res.status, body: (await res.json()) as T };
}

export async function post(url: string, body: string, contentType = 'application/json'): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Visible files below `root`, relative, sorted. */
export function filesUnder(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(root, p));
    }
  };
  try {
    walk(root);
  } catch {
    return [];
  }
  return out.sort();
}

export function readJsonl(path: string): Array<Record<string, unknown>> {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export async function until<T>(fn: () => Promise<T | undefined | false>, ms = 10_000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
