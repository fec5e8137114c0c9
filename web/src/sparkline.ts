/**
 * The SVG path of a sparkline: the first `count` values of `values`, left to right across `width`, scaled
 * so the lowest is at the bottom and the highest at the top of `height` (inset by `pad`). A flat series is
 * drawn across the middle. Fewer than two values give an empty path. Coordinates are rounded to 0.1 px:
 * finer is invisible and only lengthens the string the browser parses at every update.
 */
export function sparklinePath(values: ArrayLike<number>, count: number, width: number, height: number, pad = 1): string {
  const n = Math.min(count, values.length);
  if (n < 2) return '';
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const span = max - min;
  const inner = height - 2 * pad;
  const step = width / (n - 1);
  let d = '';
  for (let i = 0; i < n; i++) {
    const y = span > 0 ? pad + inner * (1 - (values[i]! - min) / span) : height / 2;
    d += `${i === 0 ? 'M' : 'L'}${round1(i * step)},${round1(y)}`;
  }
  return d;
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}
