import type { RunDoc } from '../pipeline/runs.ts';

/** HTML-escapes anything that came from data (symbols, observed values, suite names…). */
export function esc(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const fmt = new Intl.NumberFormat('en-US');

function pct(n: number): string {
  return `${n.toFixed(n !== 0 && n < 0.1 ? 4 : 2)} %`;
}

const STYLE = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1b1f24;--mut:#5b6570;--line:#d8dee4;--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--card:#f6f8fa}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--mut:#8d96a0;--line:#30363d;--ok:#3fb950;--bad:#f85149;--warn:#d29922;--card:#161b22}}
body{margin:0;font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:var(--bg);color:var(--fg)}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.mut{color:var(--mut)}.badge{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;color:#fff}
.PASS{background:var(--ok)}.FAIL{background:var(--bad)}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin-top:16px}.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 14px;min-width:120px}
.card b{display:block;font-size:18px;font-variant-numeric:tabular-nums}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}th,td{border-bottom:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}
th{color:var(--mut);font-weight:600}td.n{text-align:right}.ok{color:var(--ok)}.bad{color:var(--bad)}.warn{color:var(--warn)}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}a{color:inherit}
`;

/**
 * The human-readable report of one validation run (the equivalent of Great Expectations' Data Docs):
 * verdict, counts, every expectation with its unexpected share against `mostly`, and a sample of the
 * failing rows with what was observed and the threshold. Self-contained (inline style, no scripts).
 */
export function renderRunReport(run: RunDoc): string {
  const r = run.rows;
  const exp = run.expectations
    .map((e) => {
      const cls = e.success ? 'ok' : 'bad';
      return `<tr><td><code>${esc(e.name)}</code></td><td>${esc(e.type)}</td><td>${esc(e.column ?? '—')}</td><td class="n">${fmt.format(e.evaluated)}</td><td class="n">${fmt.format(e.failed)}</td><td class="n">${pct(e.unexpected_percent)}</td><td class="n">${e.mostly}</td><td>${esc(e.action)}</td><td class="${cls}">${e.success ? 'pass' : 'fail'}</td></tr>`;
    })
    .join('');
  const sample = run.failures_sample
    .map(
      (f) =>
        `<tr><td>${esc(f.symbol)}</td><td><code>${esc(f.ts)}</code></td><td>${esc(f.provider)}</td><td class="n">${esc(f.seq ?? '')}</td><td><code>${esc(f.expectation)}</code></td><td><code>${esc(JSON.stringify(f.observed))}</code></td><td>${esc(f.threshold)}</td><td class="${f.action === 'warn' ? 'warn' : 'bad'}">${esc(f.action)}</td></tr>`,
    )
    .join('');
  const q = encodeURIComponent(run.id);
  const summary = run.summary
    ? `<h2>Summary</h2><table>${Object.entries(run.summary)
        .map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(typeof v === 'object' ? JSON.stringify(v) : v)}</td></tr>`)
        .join('')}</table>`
    : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Validation run ${esc(run.id)} · Tickline</title><style>${STYLE}</style></head><body><main>
<p class="mut"><a href="/v1/quality/runs">validation runs</a> / ${esc(run.id)}</p>
<h1>Validation run <code>${esc(run.id)}</code> <span class="badge ${esc(run.verdict)}">${esc(run.verdict)}</span></h1>
<p class="mut">${esc(run.kind)} run · suite <code>${esc(run.suite)}</code> version ${esc(run.suite_version)}${run.suite_file ? ` (${esc(run.suite_file)})` : ''} · ${esc(run.instance)} · ${esc(run.started_at)} → ${esc(run.ended_at ?? 'running')}</p>
<div class="cards">
<div class="card"><span class="mut">rows</span><b>${fmt.format(r.evaluated)}</b></div>
<div class="card"><span class="mut">passed</span><b class="ok">${fmt.format(r.passed)}</b></div>
<div class="card"><span class="mut">quarantined</span><b class="bad">${fmt.format(r.failed)}</b></div>
<div class="card"><span class="mut">warned</span><b class="warn">${fmt.format(r.warned)}</b></div>
<div class="card"><span class="mut">batches pass / fail</span><b>${fmt.format(run.batches.pass)} / ${fmt.format(run.batches.fail)}</b></div>
</div>
<h2>Expectations</h2>
<table><thead><tr><th>name</th><th>type</th><th>column</th><th>evaluated</th><th>failed</th><th>unexpected</th><th>mostly</th><th>action</th><th>result</th></tr></thead><tbody>${exp}</tbody></table>
<h2>Failing rows (sample of ${fmt.format(run.failures_sample.length)})</h2>
${sample ? `<table><thead><tr><th>symbol</th><th>event time</th><th>provider</th><th>seq</th><th>expectation</th><th>observed</th><th>threshold</th><th>action</th></tr></thead><tbody>${sample}</tbody></table>` : '<p class="mut">No failing rows.</p>'}
<p>All quarantined rows of this run: <a href="/v1/quarantine?run=${q}&amp;limit=1000"><code>/v1/quarantine?run=${esc(run.id)}</code></a> · JSON of this run: <a href="/v1/quality/runs/${q}"><code>/v1/quality/runs/${esc(run.id)}</code></a></p>
${summary}
</main></body></html>`;
}
