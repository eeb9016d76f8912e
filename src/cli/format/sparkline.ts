import { SPARK_BARS } from './glyphs.js';

/** A sparkline of counts, squeezed to at most `width` characters. */
export function sparkline(values: number[], width = 60): string {
  if (values.length === 0) return '';
  const per = Math.ceil(values.length / width);
  const squeezed: number[] = [];
  for (let i = 0; i < values.length; i += per)
    squeezed.push(values.slice(i, i + per).reduce((a, b) => a + b, 0));
  const max = Math.max(...squeezed);
  return squeezed
    .map((v) => (max === 0 ? SPARK_BARS[0] : SPARK_BARS[Math.min(7, Math.floor((v / max) * 7.999))]))
    .join('');
}
