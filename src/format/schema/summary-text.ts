/** The pieces of the one-line summaries of event types (`key=value` text), read from loose data. */
export type Data = Record<string, unknown>;

export function str(value: unknown): string {
  return value === undefined ? '-' : String(value);
}

/** `item=<id> ` when the event names its work item, else nothing. */
export function item(d: Data): string {
  return d.item_id === undefined ? '' : `item=${str(d.item_id)} `;
}

export function quote(value: unknown): string {
  return JSON.stringify(String(value ?? ''));
}

export function count(value: unknown): string {
  return Array.isArray(value) ? String(value.length) : '-';
}

/** 1234 → "1.23s", 45 → "45ms", 125000 → "2m05s" */
export function duration(value: unknown): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '-';
  if (value < 1000) return `${Math.round(value)}ms`;
  if (value < 60_000) return `${(value / 1000).toFixed(2)}s`;
  const minutes = Math.floor(value / 60_000);
  const seconds = Math.floor((value % 60_000) / 1000);
  if (minutes < 60) return `${minutes}m${String(seconds).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}
