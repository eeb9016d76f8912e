import type { ChalkInstance } from 'chalk';
import type { EventRecord, Severity } from '../../format/schema/envelope.js';
import { summarizeEvent } from '../../format/summary.js';
import { visible } from './visible.js';

export interface FormatContext {
  chalk: ChalkInstance;
  utc: boolean;
}

/** `2026-11-22 14:37:01.123` in local time, or with a trailing Z in UTC. */
export function displayTime(ts: string, utc: boolean): string {
  if (utc) return `${ts.slice(0, 10)} ${ts.slice(11, 23)}Z`;
  const d = new Date(ts.slice(0, 23) + 'Z');
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

export function colorBySeverity(chalk: ChalkInstance, severity: Severity, text: string): string {
  switch (severity) {
    case 'debug':
      return chalk.gray(text);
    case 'info':
      return chalk.cyan(text);
    case 'warn':
      return chalk.yellow(text);
    case 'error':
      return chalk.red(text);
    case 'fatal':
      return chalk.bold.red(text);
  }
}

/**
 * One line per event: time, job, agent, type coloured by severity, and the fields that matter. What
 * came from the event is escaped (`visible`), so the event stays on one line.
 */
export function formatPretty(record: EventRecord, ctx: FormatContext): string {
  const summary = visible(summarizeEvent(record));
  return [
    ctx.chalk.dim(displayTime(record.ts, ctx.utc)),
    visible(record.job_id),
    visible(record.agent_id ?? '-'),
    colorBySeverity(ctx.chalk, record.severity, record.event_type),
    summary,
  ]
    .filter((part) => part !== '')
    .join(' ');
}
