import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { zonesOptionsFromUrl } from './options.ts';

describe('zones URL options', () => {
  it('reads every option with its type', () => {
    const url = new URL('file:///z?rollBytes=100&rollMs=5&maxOpen=3&rawGzip=true&curatedGraceMs=0&compactAt=2&retainRaw=36h&retainCurated=7d&retainQuarantine=90m');
    assert.deepEqual(zonesOptionsFromUrl(url).options, {
      rollBytes: 100,
      rollMs: 5,
      maxOpen: 3,
      rawGzip: true,
      curatedGraceMs: 0,
      compactAt: 2,
      retain: { raw: 36 * 3_600_000_000, curated: 7 * 86_400_000_000, quarantine: 90 * 60_000_000 },
    });
  });

  it("hands a scheme's own keys back as text", () => {
    const { options, extra } = zonesOptionsFromUrl(new URL('s3://b/p?region=eu-west-1&rollMs=9'), ['region', 'endpoint']);
    assert.deepEqual(options, { rollMs: 9 });
    assert.deepEqual([...extra], [['region', 'eu-west-1']]);
  });

  it('rejects unknown keys and bad values, naming both', () => {
    const bad: Array<[string, RegExp]> = [
      ['rawGzip=yes', /rawGzip.*"yes"/],
      ['retainRaw=forever', /retainRaw.*"forever"/],
      ['retainCurated=0d', /retainCurated/],
      ['compactAt=0', /compactAt.*"0"/],
      ['curatedGraceMs=-1', /curatedGraceMs.*"-1"/],
      ['rollBytes=1e3', /rollBytes.*"1e3"/],
      ['endpoint=http://x', /unknown option "endpoint".*known: rollBytes/],
    ];
    for (const [query, message] of bad) {
      assert.throws(() => zonesOptionsFromUrl(new URL(`file:///z?${query}`)), { code: 'TL_ERR_CONFIG', message }, query);
    }
  });
});
