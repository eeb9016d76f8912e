import { FilterError } from './filter-error.js';
import { SEVERITIES, severityRank, type EventRecord, type Severity } from '../format/schema/envelope.js';
import { kindLiterals, kindMatcher } from './event-type.js';

/** The filters of `events query`, `tail` and `export`, and of `readEvents()`. All given must match. */
export interface EventFilter {
  /** Job ids; all jobs when empty. */
  jobs?: string[];
  /** Event types: `AgentFailed`, `agent_failed`, or globs such as `agent_*` or `*failed` (`*`: any run). */
  kinds?: string[];
  agents?: string[];
  /** `data.item_id` */
  items?: string[];
  correlation?: string;
  /** Minimum severity. */
  severity?: Severity;
  /** Inclusive lower bound, microseconds since the epoch. */
  sinceUs?: number;
  /** Exclusive upper bound, microseconds since the epoch. */
  untilUs?: number;
  /** A regular expression over the raw line (a plain substring with `fixed`). */
  grep?: string;
  fixed?: boolean;
  /** `path=value` on fields of `data` (dotted paths); a string field compares as text, others as JSON. */
  where?: string[];
}

export type RecordPredicate = (record: EventRecord, line: string) => boolean;

export function compileFilter(filter: EventFilter): RecordPredicate {
  const tests: RecordPredicate[] = [];
  const kind = kindMatcher(filter.kinds ?? []);
  if (kind !== undefined) tests.push((r) => kind(r.event_type));
  if (filter.agents?.length) {
    const agents = new Set(filter.agents);
    tests.push((r) => r.agent_id !== undefined && agents.has(r.agent_id));
  }
  if (filter.items?.length) {
    const items = new Set(filter.items);
    tests.push((r) => items.has(String(field(r.data, ['item_id']))));
  }
  if (filter.correlation !== undefined) {
    const correlation = filter.correlation;
    tests.push((r) => r.correlation_id === correlation);
  }
  if (filter.severity !== undefined) {
    const min = severityRank(filter.severity);
    tests.push((r) => severityRank(r.severity) >= min);
  }
  if (filter.grep !== undefined) {
    const grep = filter.grep;
    if (filter.fixed === true) tests.push((_, line) => line.includes(grep));
    else {
      const pattern = compileRegex(grep);
      tests.push((_, line) => pattern.test(line));
    }
  }
  for (const clause of filter.where ?? []) {
    const eq = clause.indexOf('=');
    if (eq <= 0) throw new FilterError('where', `takes path=value (a field of data), not "${clause}"`);
    const path = clause
      .slice(0, eq)
      .replace(/^data\./, '')
      .split('.');
    const expected = clause.slice(eq + 1);
    tests.push((r) => {
      const value = field(r.data, path);
      return (
        value !== undefined &&
        (typeof value === 'string' ? value === expected : JSON.stringify(value) === expected)
      );
    });
  }
  // Time bounds are applied by the reader (they also end a stream early).
  return (record, line) => tests.every((test) => test(record, line));
}

/**
 * A test on the raw text of a line that every matching line passes, so that most lines that cannot
 * match are never parsed. It only uses what must appear literally in the JSON: an event type, a
 * severity, or an id JSON writes without escapes; a line with a `\u` escape always passes. Undefined
 * when nothing helps.
 */
export function compileLinePrefilter(filter: EventFilter): ((line: string) => boolean) | undefined {
  const needs: ((line: string) => boolean)[] = [];
  // A kind's literal pieces (one for an exact name; those around the `*` of a glob) are all in its lines.
  const kinds = (filter.kinds ?? []).map(kindLiterals);
  if (kinds.length > 0) needs.push((line) => kinds.some((pieces) => pieces.every((p) => line.includes(p))));
  for (const ids of [filter.agents ?? [], filter.items ?? [], filter.correlation ?? []]) {
    const list = [ids].flat();
    // An id that JSON escapes (a quote, a backslash, a control character) is not literally in the line.
    if (list.length > 0 && list.every((id) => JSON.stringify(id) === `"${id}"`)) {
      const quoted = list.map((id) => `"${id}"`);
      needs.push((line) => quoted.some((q) => line.includes(q)));
    }
  }
  if (filter.severity !== undefined) {
    const min = severityRank(filter.severity);
    const allowed = SEVERITIES.filter((s) => severityRank(s) >= min).map((s) => `"${s}"`);
    if (allowed.length < SEVERITIES.length) needs.push((line) => allowed.some((s) => line.includes(s)));
  }
  if (filter.grep !== undefined) {
    const grep = filter.grep;
    if (filter.fixed === true) needs.push((line) => line.includes(grep));
    else {
      const pattern = compileRegex(grep);
      needs.push((line) => pattern.test(line));
    }
  }
  if (needs.length === 0) return undefined;
  return (line) => line.includes('\\u') || needs.every((need) => need(line));
}

function compileRegex(source: string): RegExp {
  try {
    return new RegExp(source);
  } catch (err) {
    throw new FilterError('grep', `not a regular expression: ${(err as Error).message}`);
  }
}

function field(data: unknown, path: string[]): unknown {
  let value = data;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}
