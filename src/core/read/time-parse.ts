import { InvalidArgumentError } from '../errors.js';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/**
 * Parses a --since / --until value to microseconds since the epoch (issue 3):
 * relative (`30s`, `15m`, `1h`, `2d`, `1w`: that long ago), `now`, `today`, `yesterday`, ISO dates and
 * datetimes with or without a zone (no zone: local time, or UTC with `utc`), and epoch seconds or
 * milliseconds. Throws InvalidArgumentError naming the flag and the value.
 */
export function parseTimeArg(
  flag: string,
  value: string,
  options: { now?: number; utc?: boolean } = {},
): number {
  const now = options.now ?? Date.now();
  const text = value.trim();
  const ms = parseMs(text, now, options.utc === true);
  if (ms === undefined || !Number.isFinite(ms)) {
    throw new InvalidArgumentError(
      `${flag}: cannot read "${value}" as a time (try 15m, 2h, 1d, today, 2026-11-22, 2026-11-22T14:00, or epoch seconds)`,
    );
  }
  return Math.round(ms * 1000);
}

function parseMs(text: string, now: number, utc: boolean): number | undefined {
  const relative = /^(\d+(?:\.\d+)?)\s*([smhdw])(?:\s*ago)?$/i.exec(text);
  if (relative !== null)
    return now - Number(relative[1]) * (UNITS[(relative[2] as string).toLowerCase()] as number) * 1000;
  const word = text.toLowerCase();
  if (word === 'now') return now;
  if (word === 'today' || word === 'yesterday') {
    const d = new Date(now);
    const midnight = utc
      ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())
      : new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
    return word === 'today' ? midnight : shiftDays(midnight, -1, utc);
  }
  if (/^\d{9,10}(\.\d+)?$/.test(text)) return Number(text) * 1000; // epoch seconds
  if (/^\d{12,13}$/.test(text)) return Number(text); // epoch milliseconds
  const iso =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i.exec(
      text,
    );
  if (iso === null) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '0', zone] = iso;
  const fields = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)] as const;
  const fracMs = Number(`0.${frac}`) * 1000;
  if (fields[1] > 11 || fields[2] < 1 || fields[2] > 31 || fields[3] > 23 || fields[4] > 59 || fields[5] > 60)
    return undefined;
  if (zone === undefined) {
    const base = utc ? Date.UTC(...fields) : new Date(...fields).getTime();
    return base + fracMs;
  }
  const offsetMin = zone.toUpperCase() === 'Z' ? 0 : zoneMinutes(zone);
  return Date.UTC(...fields) + fracMs - offsetMin * 60_000;
}

function zoneMinutes(zone: string): number {
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
  if (m === null) return NaN;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

function shiftDays(ms: number, days: number, utc: boolean): number {
  const d = new Date(ms);
  if (utc) return ms + days * 86_400_000;
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() + days).getTime();
}
