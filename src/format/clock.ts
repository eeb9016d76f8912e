/**
 * Microsecond wall-clock timestamps. Date.now() only has milliseconds, so the sub-millisecond part
 * comes from the monotonic clock, re-anchored to the wall clock whenever the two drift apart by more
 * than a millisecond (NTP steps, suspend).
 */
let anchorWallUs = Date.now() * 1000;
let anchorHr = process.hrtime.bigint();

export function nowMicros(): number {
  const sinceAnchor = Number(process.hrtime.bigint() - anchorHr) / 1000;
  const estimate = anchorWallUs + Math.floor(sinceAnchor);
  const wallUs = Date.now() * 1000;
  if (Math.abs(estimate - wallUs) > 1000) {
    anchorWallUs = wallUs;
    anchorHr = process.hrtime.bigint();
    return wallUs;
  }
  return estimate;
}

// toISOString is the slow part of formatting; most events share their second with the previous one.
let cachedSecond = -1;
/** The timestamp is spelt here and read out as one flat string (a template would chain three). */
const stamp = Buffer.alloc(27, 0x5a); // ends in 'Z'

/** RFC 3339 UTC with exactly six fractional digits: 2026-11-22T14:37:01.123456Z */
export function formatMicros(us: number): string {
  const second = Math.floor(us / 1_000_000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    stamp.write(new Date(second * 1000).toISOString().slice(0, 20), 0, 'latin1'); // 2026-11-22T14:37:01.
  }
  let micros = us - second * 1_000_000;
  for (let at = 25; at >= 20; at--) {
    stamp[at] = 0x30 + (micros % 10);
    micros = Math.floor(micros / 10);
  }
  return stamp.toString('latin1', 0, 27);
}

let parsedSecond = '';
let parsedSecondUs = 0;

/** Parses a format v1 timestamp back to microseconds since the epoch (once per second of text). */
export function parseMicros(ts: string): number {
  if (parsedSecond === '' || !ts.startsWith(parsedSecond)) {
    parsedSecond = ts.slice(0, 19);
    parsedSecondUs = Date.parse(parsedSecond + 'Z') * 1000;
  }
  return parsedSecondUs + Number(ts.slice(20, 26));
}
