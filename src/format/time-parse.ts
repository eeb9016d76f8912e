import { InvalidArgumentError } from './errors.js';

const SECOND_US = 1_000_000;
const MINUTE_US = 60 * SECOND_US;
const HOUR_US = 60 * MINUTE_US;
const DAY_US = 24 * HOUR_US;

/**
 * The units of a time span, in microseconds, as systemd.time(7) defines them. Case matters: `M` is a
 * month (30.44 days, 2,629,800 s, as systemd) and `m` a minute; `y` is 365.25 days.
 */
export const TIME_SPAN_UNITS: Readonly<Record<string, number>> = {
  usec: 1,
  us: 1,
  µs: 1, // U+00B5 MICRO SIGN
  μs: 1, // U+03BC GREEK SMALL LETTER MU
  msec: 1000,
  ms: 1000,
  seconds: SECOND_US,
  second: SECOND_US,
  sec: SECOND_US,
  s: SECOND_US,
  minutes: MINUTE_US,
  minute: MINUTE_US,
  min: MINUTE_US,
  m: MINUTE_US,
  hours: HOUR_US,
  hour: HOUR_US,
  hr: HOUR_US,
  h: HOUR_US,
  days: DAY_US,
  day: DAY_US,
  d: DAY_US,
  weeks: 7 * DAY_US,
  week: 7 * DAY_US,
  w: 7 * DAY_US,
  months: 2_629_800 * SECOND_US,
  month: 2_629_800 * SECOND_US,
  M: 2_629_800 * SECOND_US,
  years: 31_557_600 * SECOND_US,
  year: 31_557_600 * SECOND_US,
  y: 31_557_600 * SECOND_US,
};

/** The units, for messages. */
export const TIME_SPAN_UNIT_LIST =
  'us (usec), ms (msec), s (sec, second, seconds), m (min, minute, minutes), h (hr, hour, hours), ' +
  'd (day, days), w (week, weeks), M (month, months: 30.44 days), y (year, years: 365.25 days)';

/**
 * A time span as systemd reads one (systemd.time(7)): a number and a unit, or several in a row, with
 * or without spaces: `30d`, `12h`, `1h30min`, `2 weeks`, `1.5h`, `1y 6M`. Every number needs a unit
 * (systemd would take a bare number as seconds; here `--older-than 30` is refused rather than
 * guessed), and units are case-sensitive. Returns microseconds; throws InvalidArgumentError naming
 * the value by the caller's `label` (the CLI passes its flag), listing the units when a unit is
 * missing or unknown.
 */
export function parseTimeSpan(label: string, text: string): number {
  const value = text.trim();
  const token = /\s*(\d+(?:\.\d*)?|\.\d+)\s*([^\s\d.]*)/y;
  let total = 0;
  let parts = 0;
  while (token.lastIndex < value.length) {
    const at = token.lastIndex;
    const m = token.exec(value);
    if (m === null) {
      token.lastIndex = at;
      break;
    }
    const [, number = '', unit = ''] = m;
    if (unit === '') {
      throw new InvalidArgumentError(
        `${label}: "${text}": ${number} needs a unit; the units are ${TIME_SPAN_UNIT_LIST}`,
      );
    }
    const size = TIME_SPAN_UNITS[unit];
    if (size === undefined || !Object.hasOwn(TIME_SPAN_UNITS, unit)) {
      const lower = unit.toLowerCase();
      const caseHint = Object.hasOwn(TIME_SPAN_UNITS, lower)
        ? ` (units are case-sensitive: "${lower}"?)`
        : '';
      throw new InvalidArgumentError(
        `${label}: unknown unit "${unit}" in "${text}"${caseHint}; the units are ${TIME_SPAN_UNIT_LIST}`,
      );
    }
    total += Number(number) * size;
    parts++;
  }
  if (parts === 0 || token.lastIndex < value.length || !Number.isFinite(total)) {
    throw new InvalidArgumentError(
      `${label}: "${text}" is not a time span such as 30d, 12h, 1h30min or 2w; the units are ${TIME_SPAN_UNIT_LIST}`,
    );
  }
  return Math.round(total);
}

/**
 * Parses a --since / --until value to microseconds since the epoch, as journalctl reads times
 * (systemd.time(7)):
 * - relative: `-1h` (before now), `+1h` (after now), `2 hours ago`, `1h left`, and a bare span (`15min`,
 *   `1h30min`: that long ago); spans as parseTimeSpan reads them (`m` minutes, `M` months);
 * - `now`; `today`, `yesterday`, `tomorrow` (midnight), optionally at a time: `yesterday 14:00`;
 * - `2026-11-22`, `2026-11-22 14:00`, `2026-11-22T14:00:05.123`, with a zone (`Z`, `UTC`, `+02:00`)
 *   or without (local time, or UTC with `utc`); a time alone (`14:00`) is today at that time;
 * - epoch seconds (`1700000000`, `@1700000000`) or milliseconds (`1700000000000`).
 * A date or time that does not exist (`2026-02-31`, `24:61`, a local time a clock change skips) is
 * refused, never rolled over. Throws InvalidArgumentError naming the value by the caller's `label`
 * (the CLI passes its flag: the library never names one itself, issue 12 point 6).
 */
export function parseTimeArg(
  label: string,
  value: string,
  options: { now?: number; utc?: boolean } = {},
): number {
  const now = options.now ?? Date.now();
  const us = parseUs(label, value, value.trim(), now, options.utc === true);
  if (us === undefined || !Number.isFinite(us)) {
    throw new InvalidArgumentError(
      `${label}: cannot read "${value}" as a time (try 15m, 2h, 1d, today, 2026-11-22, 2026-11-22T14:00, or epoch seconds)`,
    );
  }
  return Math.round(us);
}

/**
 * A local time that a clock change skips: the caller may say how else to give it (the CLI: `--utc`,
 * issue 12 point 6).
 */
export class SkippedLocalTimeError extends InvalidArgumentError {}

const TIME = String.raw`(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?`;
const ZONE = String.raw`(Z|UTC|[+-]\d{2}:?\d{2})`;
const DAY_WORD = new RegExp(String.raw`^(now|today|yesterday|tomorrow)(?:\s+${TIME})?$`, 'i');
const DATE_TIME = new RegExp(String.raw`^(\d{4})-(\d{2})-(\d{2})(?:[T ]${TIME})?\s*${ZONE}?$`, 'i');
const TIME_ONLY = new RegExp(String.raw`^${TIME}$`);

interface Fields {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
  /** Fractional second, in microseconds. */
  fracUs: number;
  /** Whether a time of day was written (midnight otherwise). */
  timeGiven: boolean;
}

function parseUs(label: string, value: string, text: string, now: number, utc: boolean): number | undefined {
  const wrong = (why: string, gap = false) =>
    new (gap ? SkippedLocalTimeError : InvalidArgumentError)(
      `${label}: cannot read "${value}" as a time: ${why}`,
    );
  const word = DAY_WORD.exec(text);
  if (word !== null) {
    const which = (word[1] as string).toLowerCase();
    if (which === 'now') return word[2] === undefined ? now * 1000 : undefined;
    const today = calendarDay(now, utc);
    const day = shiftDays(today, which === 'today' ? 0 : which === 'yesterday' ? -1 : 1);
    return instant({ ...day, ...timeFields(word.slice(2)) }, undefined, utc, wrong);
  }
  const epoch = /^@?(\d{9,10}(?:\.\d+)?)$/.exec(text) ?? /^@(\d+(?:\.\d+)?)$/.exec(text);
  if (epoch !== null) return Number(epoch[1]) * SECOND_US;
  if (/^\d{12,13}$/.test(text)) return Number(text) * 1000;
  const date = DATE_TIME.exec(text);
  if (date !== null) {
    const [, y, mo, d] = date;
    const fields = { y: Number(y), mo: Number(mo), d: Number(d), ...timeFields(date.slice(4, 8)) };
    return instant(fields, date[8], utc, wrong);
  }
  const time = TIME_ONLY.exec(text);
  if (time !== null)
    return instant({ ...calendarDay(now, utc), ...timeFields(time.slice(1)) }, undefined, utc, wrong);
  // Relative: a sign before a span, `ago` or `left` after it, or a bare span (ago). Something like a
  // date or a time that is not one is left to the general message.
  const relative =
    /^([+-])\s*(.+)$/.exec(text) ??
    /^()(.+?)\s+(ago|left)$/i.exec(text) ??
    (/^\.?\d/.test(text) && !/^\d+-|:/.test(text) ? ['', '', text] : null);
  if (relative === null) return undefined;
  const [, sign, span = '', suffix] = relative;
  const future = sign === '+' || suffix?.toLowerCase() === 'left';
  const us = parseTimeSpan(label, span);
  return now * 1000 + (future ? us : -us);
}

function timeFields(parts: (string | undefined)[]): Omit<Fields, 'y' | 'mo' | 'd'> {
  const [h, mi, s, frac] = parts;
  return {
    h: Number(h ?? 0),
    mi: Number(mi ?? 0),
    s: Number(s ?? 0),
    fracUs: frac === undefined ? 0 : Math.round(Number(`0.${frac}`) * SECOND_US),
    timeGiven: h !== undefined,
  };
}

/** The instant of validated fields: in `zone`, else UTC with `utc`, else local time. */
function instant(
  f: Fields,
  zone: string | undefined,
  utc: boolean,
  wrong: (why: string, gap?: boolean) => Error,
): number {
  if (f.mo < 1 || f.mo > 12) throw wrong(`there is no month ${f.mo}`);
  const days = daysInMonth(f.y, f.mo);
  if (f.d < 1 || f.d > days) {
    throw wrong(`${f.y}-${String(f.mo).padStart(2, '0')} has ${days} days`);
  }
  if (f.h > 23 || f.mi > 59 || f.s > 59) {
    throw wrong(`there is no time ${pad(f.h)}:${pad(f.mi)}:${pad(f.s)} (00:00:00 to 23:59:59)`);
  }
  let ms: number;
  if (zone !== undefined || utc) {
    const offsetMin = zone === undefined || /^(z|utc)$/i.test(zone) ? 0 : zoneMinutes(zone);
    if (Number.isNaN(offsetMin)) throw wrong(`"${zone ?? ''}" is not a UTC offset`);
    const t = new Date(0);
    t.setUTCFullYear(f.y, f.mo - 1, f.d);
    t.setUTCHours(f.h, f.mi, f.s, 0);
    ms = t.getTime() - offsetMin * 60_000;
  } else {
    const t = new Date(0);
    t.setFullYear(f.y, f.mo - 1, f.d);
    t.setHours(f.h, f.mi, f.s, 0);
    const sameDay = t.getFullYear() === f.y && t.getMonth() === f.mo - 1 && t.getDate() === f.d;
    // Midnight may be skipped by a clock change (then the day starts later); a time written out must exist.
    if (!sameDay || (f.timeGiven && (t.getHours() !== f.h || t.getMinutes() !== f.mi))) {
      throw wrong('that local time does not exist (a clock change skips it); give a UTC offset', true);
    }
    ms = t.getTime();
  }
  return ms * 1000 + f.fracUs;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function daysInMonth(y: number, mo: number): number {
  const t = new Date(0);
  t.setUTCFullYear(y, mo, 0);
  return t.getUTCDate();
}

function zoneMinutes(zone: string): number {
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
  if (m === null || Number(m[2]) > 23 || Number(m[3]) > 59) return NaN;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

/** The calendar day `now` falls on, in local time or in UTC. */
function calendarDay(now: number, utc: boolean): { y: number; mo: number; d: number } {
  const t = new Date(now);
  return utc
    ? { y: t.getUTCFullYear(), mo: t.getUTCMonth() + 1, d: t.getUTCDate() }
    : { y: t.getFullYear(), mo: t.getMonth() + 1, d: t.getDate() };
}

/** A calendar day `days` later (earlier when negative), whatever the time zone. */
function shiftDays(
  day: { y: number; mo: number; d: number },
  days: number,
): { y: number; mo: number; d: number } {
  const t = new Date(0);
  t.setUTCFullYear(day.y, day.mo - 1, day.d + days);
  return { y: t.getUTCFullYear(), mo: t.getUTCMonth() + 1, d: t.getUTCDate() };
}
