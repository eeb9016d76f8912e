/** One CSV field as RFC 4180 says: quoted when it holds a comma, a quote, CR or LF; quotes doubled. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** One CSV record, CRLF-terminated (RFC 4180). */
export function csvRow(values: string[]): string {
  return values.map(csvField).join(',') + '\r\n';
}

/**
 * The leaves of a JSON value as `prefix.path` → value: nested objects become dotted paths; arrays and
 * scalars are leaves (arrays are written as JSON text in a cell).
 */
export function flatten(
  value: unknown,
  prefix: string,
  into = new Map<string, unknown>(),
): Map<string, unknown> {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const [key, child] of Object.entries(value)) flatten(child, `${prefix}.${key}`, into);
  } else {
    into.set(prefix, value);
  }
  return into;
}

/** A cell's text: strings as they are, nothing for a missing value, other values as JSON. */
export function cellText(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}
