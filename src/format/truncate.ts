/**
 * docs/format.md section 2: a line over `maxLineBytes` has its largest string fields (in `data` and `meta`)
 * cut, with a marker saying how much was removed. It is never dropped silently.
 */
export function truncateLargestStrings(
  record: { data: unknown; meta?: Record<string, unknown> | undefined },
  excessBytes: number,
): boolean {
  const leaves: { holder: Record<string, unknown> | unknown[]; key: string | number; bytes: number }[] = [];
  collectStrings(record, leaves, 0);
  leaves.sort((a, b) => b.bytes - a.bytes);
  let remaining = excessBytes;
  for (const leaf of leaves) {
    if (remaining <= 0) break;
    const value = (leaf.holder as Record<string | number, unknown>)[leaf.key] as string;
    const marker = `…[truncated ${humanBytes(leaf.bytes)}]`;
    // Cut enough for this field to cover what is left, plus room for the marker and JSON escapes.
    const keepBytes = Math.max(0, leaf.bytes - remaining - Buffer.byteLength(marker) - 64);
    const kept = cutUtf8(value, keepBytes);
    (leaf.holder as Record<string | number, unknown>)[leaf.key] = kept + marker;
    remaining -= leaf.bytes - Buffer.byteLength(kept + marker);
  }
  return remaining <= 0;
}

function collectStrings(
  value: unknown,
  out: { holder: Record<string, unknown> | unknown[]; key: string | number; bytes: number }[],
  depth: number,
): void {
  if (depth > 64 || typeof value !== 'object' || value === null) return;
  const entries: [string | number, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : Object.entries(value);
  for (const [key, child] of entries) {
    if (typeof child === 'string') {
      // JSON escaping can make a string larger on disk than in memory; measure what is written.
      out.push({
        holder: value as Record<string, unknown>,
        key,
        bytes: Buffer.byteLength(JSON.stringify(child)),
      });
    } else {
      collectStrings(child, out, depth + 1);
    }
  }
}

/** The longest prefix of `text` within `maxBytes` UTF-8 bytes, never splitting a character. */
function cutUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let cut = Math.min(text.length, maxBytes);
  while (cut > 0 && Buffer.byteLength(text.slice(0, cut)) > maxBytes) cut = Math.floor(cut * 0.9);
  const code = text.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut -= 1; // keep surrogate pairs whole
  return text.slice(0, cut);
}

export function humanBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
