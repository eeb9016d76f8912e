import type { ChalkInstance } from 'chalk';
import type { FoundEvent } from '../../read/find.js';
import { SEVERITIES } from '../../format/schema/envelope.js';
import { colorBySeverity, displayTime } from './event.js';
import { visible } from './visible.js';

/** What each envelope field means, for `events show`. */
function explanations(
  event: FoundEvent,
  utc: boolean,
  lineHash: string,
): [string, string | undefined, string][] {
  const r = event.record;
  return [
    ['seq', String(r.seq), `position in stream ${r.stream}: 1, 2, 3, ... with no gaps`],
    [
      'ts',
      r.ts,
      `when the writer stamped it (UTC, microseconds); ${displayTime(r.ts, utc)}${utc ? '' : ' local'}`,
    ],
    [
      'id',
      r.id,
      'unique event id (UUIDv7 unless the producer gave one); a retry with the same id is written once',
    ],
    ['job_id', r.job_id, 'the job'],
    ['stream', r.stream, 'the writer that wrote it (one process); seq and prev count per stream'],
    ['event_type', r.event_type, 'what happened'],
    ['severity', r.severity, SEVERITIES.join(' < ')],
    ['agent_id', r.agent_id, 'the agent it is about (job-level events have none)'],
    [
      'correlation_id',
      r.correlation_id,
      `ties together one unit of work: events query --correlation ${visible(r.correlation_id)}`,
    ],
    ['prev', r.prev, 'hash of the previous line of the stream: the tamper-evident chain'],
    ['(hash)', lineHash, "this line's hash: the next event's prev"],
    ['(segment)', event.segment, 'the file it is stored in'],
  ];
}

/**
 * One event in full: its JSON, then its envelope explained field by field. JSON escapes C0 controls but
 * not DEL, C1 or bidi characters, so the JSON text goes through `visible` too (line by line: its own
 * line breaks stay), as every value of the envelope does.
 */
export function formatShow(event: FoundEvent, chalk: ChalkInstance, utc: boolean, lineHash: string): string {
  const r = event.record;
  const title = `${visible(r.job_id)} ${visible(r.stream)}:${r.seq} ${colorBySeverity(chalk, r.severity, visible(r.event_type))}`;
  const rows = explanations(event, utc, lineHash).filter(([, value]) => value !== undefined);
  const width = Math.max(...rows.map(([name]) => name.length));
  const envelope = rows
    .map(
      ([name, value, meaning]) =>
        `  ${name.padEnd(width)}  ${visible(value ?? '')}\n  ${' '.repeat(width)}  ${chalk.dim(meaning)}`,
    )
    .join('\n');
  const json = JSON.stringify(r, null, 2)
    .split('\n')
    .map((line) => visible(line))
    .join('\n');
  return `${chalk.bold(title)}\n${json}\n\n${chalk.bold('envelope')}\n${envelope}\n`;
}
