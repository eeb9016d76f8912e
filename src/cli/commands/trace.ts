import type { Command } from 'commander';
import { parseMicros } from '../../format/clock.js';
import { NotFoundError } from '../../format/errors.js';
import { locateEventsDir } from '../../read/locate.js';
import { readEvents, type ReadEvent } from '../../read/reader.js';
import { duration, summarizeEvent } from '../../format/summary.js';
import { colorBySeverity, displayTime } from '../format/event.js';
import { plainTable } from '../format/table.js';
import { visible } from '../format/visible.js';
import type { Output } from '../io.js';
import { dirOption } from '../options.js';
import { reportSkipped } from '../report-skipped.js';

export interface TraceFlags {
  dir?: string;
  utc?: boolean;
  json?: boolean;
}

export function configure(command: Command, output: Output): void {
  command
    .addOption(dirOption())
    .option('--utc', 'print times in UTC')
    .option('--json', 'the events as JSON lines, as stored')
    .action(async (id: string, flags: TraceFlags) => {
      await runTrace(id, flags, output);
    });
}

export async function runTrace(id: string, flags: TraceFlags, output: Output): Promise<ReadEvent[]> {
  const dir = locateEventsDir({ dir: flags.dir, env: output.io.env, need: 'log' });
  const reader = readEvents({ dir, correlation: id });
  const events: ReadEvent[] = [];
  for await (const event of reader) events.push(event);
  reportSkipped(reader.stats, output);
  if (events.length === 0) throw new NotFoundError(`no events with correlation id ${id} in ${dir}`);
  if (flags.json === true) {
    output.out(events.map((e) => e.line + '\n').join(''));
    return events;
  }
  const first = parseMicros((events[0] as ReadEvent).record.ts);
  let previous = first;
  const table = plainTable(
    ['time', 'step', 'total', 'job', 'stream:seq', 'agent', 'event', 'details'],
    output.chalk,
    { wordWrap: true },
  );
  for (const { record } of events) {
    const us = parseMicros(record.ts);
    table.push([
      displayTime(record.ts, flags.utc === true),
      `+${duration((us - previous) / 1000)}`,
      duration((us - first) / 1000),
      visible(record.job_id),
      visible(`${record.stream}:${record.seq}`),
      visible(record.agent_id ?? ''),
      colorBySeverity(output.chalk, record.severity, visible(record.event_type)),
      visible(summarizeEvent(record)),
    ]);
    previous = us;
  }
  output.out(`${table.toString()}\n${events.length} events over ${duration((previous - first) / 1000)}\n`);
  return events;
}
