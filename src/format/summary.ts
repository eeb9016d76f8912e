import type { EventRecord } from './schema/envelope.js';
import { builtinSpec } from './schema/event-types.js';
import type { Data } from './schema/summary-text.js';

export { duration } from './schema/summary-text.js';

/** One line of the fields that matter for this event (its type's `summary`); custom types show their data as compact JSON. */
export function summarizeEvent(record: Pick<EventRecord, 'event_type' | 'data'>): string {
  const data = record.data;
  const summarize = builtinSpec(record.event_type)?.summary;
  if (summarize !== undefined && typeof data === 'object' && data !== null && !Array.isArray(data)) {
    return summarize(data as Data);
  }
  const json = JSON.stringify(data);
  return json === '{}' ? '' : json.length > 200 ? `${json.slice(0, 199)}…` : json;
}

/** The plain one-line rendering used by the library's stdout echo. */
export function formatEventPlain(record: EventRecord): string {
  const summary = summarizeEvent(record);
  const agent = record.agent_id ?? '-';
  return `${record.ts} ${record.job_id} ${agent} ${record.event_type} ${record.severity}${summary === '' ? '' : ' ' + summary}`;
}
